import { createRequire } from 'node:module'
import type { Document } from 'yaml'
import type { LineOf, RawProblem } from '../locate.js'
import { stripBom, type ParsedSource } from './source.js'

type YamlLib = typeof import('yaml')
let lib: YamlLib | null = null

/**
 * The yaml package, loaded on first use: every `fleet start` imports the plan parsers (for
 * POST /api/plan/import), and loading yaml up front cost each node's start about 50 ms for plans
 * and config files that are mostly JSON or absent. Its Node build is CommonJS, so a synchronous
 * require keeps the parsers synchronous.
 */
export function yamlLib (): YamlLib {
  lib ??= createRequire(import.meta.url)('yaml') as YamlLib
  return lib
}

/** Parses YAML, keeping the document's node positions to answer which line a path came from. */
export function parseYamlSource (input: string): ParsedSource {
  const text = stripBom(input)
  const { LineCounter, parseDocument } = yamlLib()
  const counter = new LineCounter()
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true })
  const lineAt = (offset: number): number => counter.linePos(offset).line
  const lineOf = yamlLineOf(doc, lineAt)
  if (doc.errors.length > 0) {
    const problems: RawProblem[] = doc.errors.map((e) => ({
      path: [],
      line: lineAt(e.pos[0]),
      message: `invalid YAML: ${firstLine(e.message)}`
    }))
    return { value: undefined, lineOf, problems }
  }
  try {
    return { value: doc.toJS(), lineOf, problems: [] }
  } catch (err) {
    // toJS refuses documents that expand aliases too often (the "billion laughs" attack).
    return { value: undefined, lineOf, problems: [{ path: [], message: `invalid YAML: ${(err as Error).message}` }] }
  }
}

function yamlLineOf (doc: Document.Parsed, lineAt: (offset: number) => number): LineOf {
  const { isAlias, isMap, isScalar, isSeq } = yamlLib()
  return (path) => {
    let node: unknown = doc.contents
    let line = rangeLine(node, lineAt)
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(doc)
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg))
        if (pair === undefined) break
        // The key's line: a nested value starts on the line after it.
        line = rangeLine(pair.key, lineAt) ?? line
        node = pair.value
      } else if (isSeq(node) && typeof seg === 'number') {
        const item: unknown = node.items[seg]
        if (item === undefined) break
        line = rangeLine(item, lineAt) ?? line
        node = item
      } else {
        break
      }
    }
    return line
  }
}

function rangeLine (node: unknown, lineAt: (offset: number) => number): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined
  const range = (node as { range?: [number, number, number] | null }).range
  return range === undefined || range === null ? undefined : lineAt(range[0])
}

function firstLine (message: string): string {
  return message.split('\n')[0]?.trim() ?? message
}
