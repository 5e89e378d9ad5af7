import type { PathSegment } from '../path.js'
import { LineIndex, PathLines, stripBom, type ParsedSource } from './source.js'

/** Deeper nesting than any plan needs; the limit keeps hostile input from exhausting the stack. */
export const MAX_JSON_DEPTH = 64

class JsonSyntaxError extends Error {
  constructor (message: string, readonly offset: number) {
    super(message)
    this.name = 'JsonSyntaxError'
  }
}

const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const WHITESPACE = /[ \t\n\r]*/y

/**
 * Parses strict JSON while recording the line of every key and array item. JSON.parse cannot say
 * where a value came from, and its syntax errors do not reliably carry a position.
 */
export function parseJsonSource (input: string): ParsedSource {
  const text = stripBom(input)
  const index = new LineIndex(text)
  const lines = new PathLines()
  const reader = new Reader(text, (path, offset) => { lines.set(path, index.line(offset)) })
  try {
    const value = reader.document()
    return { value, lineOf: lines.lineOf, problems: [] }
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err
    return {
      value: undefined,
      lineOf: lines.lineOf,
      problems: [{ path: [], line: index.line(err.offset), message: `invalid JSON at column ${index.column(err.offset)}: ${err.message}` }]
    }
  }
}

class Reader {
  private pos = 0

  constructor (private readonly text: string, private readonly mark: (path: PathSegment[], offset: number) => void) {}

  document (): unknown {
    this.skipWhitespace()
    const value = this.value([])
    this.skipWhitespace()
    if (this.pos < this.text.length) throw this.unexpected('after the end of the document')
    return value
  }

  private value (path: PathSegment[]): unknown {
    if (path.length > MAX_JSON_DEPTH) throw new JsonSyntaxError(`nested deeper than ${MAX_JSON_DEPTH} levels`, this.pos)
    this.mark(path, this.pos)
    const c = this.text[this.pos]
    if (c === '{') return this.object(path)
    if (c === '[') return this.array(path)
    if (c === '"') return this.string()
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number()
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length
        return value
      }
    }
    throw this.unexpected('where a value should be')
  }

  private object (path: PathSegment[]): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    const seen = new Set<string>()
    this.pos++
    this.skipWhitespace()
    if (this.text[this.pos] === '}') {
      this.pos++
      return out
    }
    for (;;) {
      if (this.text[this.pos] !== '"') throw this.unexpected('where a quoted key should be')
      const keyOffset = this.pos
      const key = this.string()
      if (seen.has(key)) throw new JsonSyntaxError(`duplicate key ${JSON.stringify(key)}`, keyOffset)
      seen.add(key)
      this.skipWhitespace()
      if (this.text[this.pos] !== ':') throw this.unexpected('where ":" should be')
      this.pos++
      this.skipWhitespace()
      const childPath = [...path, key]
      // The key's line, not the value's: a nested object value may start on a later line.
      this.mark(childPath, keyOffset)
      // defineProperty so a "__proto__" key is data, not a prototype switch.
      Object.defineProperty(out, key, { value: this.value(childPath), enumerable: true, writable: true, configurable: true })
      this.skipWhitespace()
      const c = this.text[this.pos]
      this.pos++
      if (c === '}') return out
      if (c !== ',') throw this.unexpected('where "," or "}" should be', this.pos - 1)
      this.skipWhitespace()
    }
  }

  private array (path: PathSegment[]): unknown[] {
    const out: unknown[] = []
    this.pos++
    this.skipWhitespace()
    if (this.text[this.pos] === ']') {
      this.pos++
      return out
    }
    for (;;) {
      out.push(this.value([...path, out.length]))
      this.skipWhitespace()
      const c = this.text[this.pos]
      this.pos++
      if (c === ']') return out
      if (c !== ',') throw this.unexpected('where "," or "]" should be', this.pos - 1)
      this.skipWhitespace()
    }
  }

  private string (): string {
    STRING.lastIndex = this.pos
    const m = STRING.exec(this.text)
    if (m === null) throw new JsonSyntaxError('unterminated string or invalid escape or control character in string', this.pos)
    this.pos += m[0].length
    return JSON.parse(m[0]) as string
  }

  private number (): number {
    NUMBER.lastIndex = this.pos
    const m = NUMBER.exec(this.text)
    if (m === null) throw this.unexpected('where a number should be')
    this.pos += m[0].length
    return Number(m[0])
  }

  private skipWhitespace (): void {
    WHITESPACE.lastIndex = this.pos
    WHITESPACE.exec(this.text)
    this.pos = WHITESPACE.lastIndex
  }

  private unexpected (where: string, at = this.pos): JsonSyntaxError {
    const c = this.text[at]
    const what = c === undefined ? 'end of input' : `${JSON.stringify(c)}`
    return new JsonSyntaxError(`unexpected ${what} ${where}`, at)
  }
}
