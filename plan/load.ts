import { readFile } from 'node:fs/promises'
import { formatFromFileName, sniffFormat, type PlanFormat } from './detect.js'
import { PlanValidationError } from './errors.js'
import { shapeProblems } from './issues.js'
import { locateProblems, type RawProblem } from './locate.js'
import { parseJsonSource } from './parse/json.js'
import { parseMarkdownSource } from './parse/markdown.js'
import type { ParsedSource } from './parse/source.js'
import { parseYamlSource } from './parse/yaml.js'
import { PlanSchema, type Plan } from './schema.js'
import { checkPlan } from './validate.js'

export interface ParsePlanOptions {
  /** Default: from the file name's extension, else sniffed from the text. */
  format?: PlanFormat
  /** Named in problems, and used to pick the format. */
  file?: string
}

const PARSERS: Readonly<Record<PlanFormat, (text: string) => ParsedSource>> = {
  json: parseJsonSource,
  yaml: parseYamlSource,
  markdown: parseMarkdownSource
}

/**
 * Text -> validated Plan. Throws PlanValidationError listing every problem found: what the parser
 * could not read, what the schema rejects, and what the semantic checks find, each with its line.
 */
export function parsePlan (text: string, opts: ParsePlanOptions = {}): Plan {
  const format = opts.format ?? (opts.file === undefined ? undefined : formatFromFileName(opts.file)) ?? sniffFormat(text)
  const source = PARSERS[format](text)
  const ctx = { source: source.value, lineOf: source.lineOf, ...(opts.file === undefined ? {} : { file: opts.file }) }
  if (source.value === undefined) throw new PlanValidationError(locateProblems([source.problems], ctx))

  const shaped = PlanSchema.safeParse(source.value)
  const shapeStage: RawProblem[] = shaped.success ? [] : shapeProblems(shaped.error.issues, source.value)
  const semanticStage = checkPlan(shaped.success ? shaped.data : source.value)
  const problems = locateProblems([source.problems, shapeStage, semanticStage], ctx)
  if (problems.length > 0 || !shaped.success) throw new PlanValidationError(problems)
  return shaped.data
}

/** Reads a plan file (format from its extension) and parses it; the path is named in problems. */
export async function readPlanFile (path: string, opts: Omit<ParsePlanOptions, 'file'> = {}): Promise<Plan> {
  const text = await readFile(path, 'utf8')
  return parsePlan(text, { ...opts, file: path })
}

/**
 * An already-parsed plan value (a JSON request body): validated as it is, without printing it back
 * to text and re-reading it with the position-tracking parser (most of a 100k-task import's parse
 * time). Only a plan with problems takes that path, so the problems still name their lines.
 */
export function parsePlanValue (value: unknown, file: string): Plan {
  const shaped = PlanSchema.safeParse(value)
  if (shaped.success && checkPlan(shaped.data).length === 0) return shaped.data
  return parsePlan(JSON.stringify(value), { format: 'json', file })
}
