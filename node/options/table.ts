import { readFileSync } from 'node:fs'
import type { ParseArgsConfig } from 'node:util'
import { z } from 'zod'
import { yamlLib } from '../../plan/parse/yaml.js'

/**
 * One table per command's options: each entry gives the command-line flag, the environment
 * variable, the config-file key (the entry's own camelCase name), the zod schema, the default
 * and the `--help` line. The parser options, the precedence merge (flag over env over file over
 * default), the validation and the usage text are all derived from it here, so an option is
 * declared once. node:util parseArgs does the argv parsing; a CLI library would add a second
 * declaration style without removing any of this (env and config keys are ours).
 */

/** A bad option: `option` is how the user spelled it (--http, FLEET_HTTP, http in FILE). */
export class ConfigError extends Error {
  override name = 'ConfigError'
  readonly code = 'BAD_OPTION'
  constructor (readonly option: string, readonly reason: string) {
    super(`invalid ${option}: ${reason}`)
  }
}

/**
 * Runs the parser of one option's value; its own error (of `errorType`: a bad file, URL or spec)
 * becomes a ConfigError naming the option as the user gave it. Other errors pass through.
 */
export function parseOption<T> (option: string, errorType: abstract new (...args: never[]) => Error, parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    if (err instanceof errorType) throw new ConfigError(option, err.message)
    throw err
  }
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export interface OptionSpec {
  schema: z.ZodType
  /** The environment variable (FLEET_*). */
  env: string
  /** 'list': the flag repeats and the env value is comma (or space) separated; 'switch': a flag without value. Default 'value'. */
  kind?: 'value' | 'list' | 'switch'
  /** Placeholder in --help (DIR, SECONDS); none for switches. */
  arg?: string
  /** The --help text; further lines with '\n'. Default and env are appended from the table. */
  help: string
  /** Applied when the option is given nowhere (validated like a given value). */
  default?: unknown
  /** The default as shown in --help, when it is applied elsewhere (e.g. DEFAULT_COORDINATION). */
  shownDefault?: string
}

export type OptionTable = Record<string, OptionSpec>

/** An option value with where it came from (flag, env, config file), for error messages. */
export interface Sourced { value: unknown, label: string }
export type SourcedOptions<T extends OptionTable> = Partial<Record<keyof T & string, Sourced>>
/** Raw values by option name, as the command line gives them. */
export type RawOptions<T extends OptionTable> = Partial<Record<keyof T & string, string | boolean | string[] | undefined>>

/** A boolean from a switch, a config file (true/false) or the environment (true/false/1/0). */
export const booleanOption = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform(v => v === 'true' || v === '1')])
/** A duration in seconds (decimals allowed), at most a week. */
export const secondsOption = z.coerce.number({ error: 'must be a number of seconds' }).positive('must be a positive number of seconds').max(7 * 24 * 3600)

/** --log-level: the node's and the agent's. */
export const LOG_LEVEL_OPTION = { schema: z.enum(LOG_LEVELS), env: 'FLEET_LOG_LEVEL', arg: 'LEVEL', help: LOG_LEVELS.join('|'), default: 'info' } satisfies OptionSpec

/** camelCase name to --kebab-case flag. */
export function flagOf (name: string): string {
  return '--' + name.replace(/[A-Z]/g, c => '-' + c.toLowerCase())
}

/** node:util parseArgs options for a table, plus --config. */
export function parseArgsOptions (table: OptionTable): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = { config: { type: 'string' } }
  for (const [name, spec] of Object.entries(table)) {
    out[flagOf(name).slice(2)] = spec.kind === 'switch' ? { type: 'boolean' } : { type: 'string', multiple: spec.kind === 'list' }
  }
  return out
}

/** parseArgs values (keyed by flag) back to option names. */
export function rawFromArgs<T extends OptionTable> (table: T, values: Record<string, unknown>): RawOptions<T> {
  const out: Record<string, unknown> = {}
  for (const name of Object.keys(table)) out[name] = values[flagOf(name).slice(2)]
  return out as RawOptions<T>
}

export function fromCli<T extends OptionTable> (table: T, cli: RawOptions<T>): SourcedOptions<T> {
  const out: Record<string, Sourced> = {}
  for (const name of Object.keys(table)) {
    const v = cli[name as keyof T & string]
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue
    out[name] = { value: v, label: flagOf(name) }
  }
  return out as SourcedOptions<T>
}

export function fromEnv<T extends OptionTable> (table: T, env: NodeJS.ProcessEnv): SourcedOptions<T> {
  const out: Record<string, Sourced> = {}
  for (const [name, spec] of Object.entries(table)) {
    const v = env[spec.env]
    if (v === undefined || v === '') continue
    out[name] = { value: spec.kind === 'list' ? v.split(/[\s,]+/).filter(Boolean) : v, label: spec.env }
  }
  return out as SourcedOptions<T>
}

/**
 * Reads a JSON or YAML config file of option names (camelCase) to values, refusing names not in
 * the table; each value is labelled with where it came from, for error messages.
 */
export function readConfigFile<T extends OptionTable> (path: string, table: T): SourcedOptions<T> {
  let raw: unknown
  try {
    const text = readFileSync(path, 'utf8')
    raw = path.endsWith('.json') ? JSON.parse(text) : yamlLib().parse(text)
  } catch (err) {
    throw new ConfigError(`--config ${path}`, (err as Error).message.split('\n')[0] ?? 'unreadable')
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`--config ${path}`, 'expected a mapping of option names to values')
  const out: Record<string, Sourced> = {}
  for (const [k, v] of Object.entries(raw)) {
    if (!Object.hasOwn(table, k)) throw new ConfigError(`${k} in ${path}`, `unknown option (known: ${Object.keys(table).join(', ')})`)
    out[k] = { value: v, label: `${k} in ${path}` }
  }
  return out as SourcedOptions<T>
}

/** Reads one option: validated, with its default; the first bad value throws a ConfigError naming it. */
export interface OptionReader<T extends OptionTable> {
  /** The validated value, its default, [] for a list given nowhere, or undefined. */
  get: (name: keyof T & string) => unknown
  /** How the option was given (--flag, ENV, key in FILE); the flag when not given. */
  labelOf: (name: keyof T & string) => string
  given: (name: keyof T & string) => boolean
  /** A duration option in ms (rounded), or undefined when not given. */
  ms: (name: keyof T & string) => number | undefined
}

export function optionReader<T extends OptionTable> (table: T, merged: SourcedOptions<T>): OptionReader<T> {
  const labelOf = (name: keyof T & string): string => merged[name]?.label ?? flagOf(name)
  const get = (name: keyof T & string): unknown => {
    const spec = table[name] as OptionSpec
    const list = spec.kind === 'list'
    const value = merged[name]?.value ?? spec.default ?? (list ? [] : undefined)
    if (value === undefined) return undefined
    const schema = list ? z.array(spec.schema) : spec.schema
    const r = schema.safeParse(list && !Array.isArray(value) ? [value] : value)
    if (!r.success) throw new ConfigError(labelOf(name), r.error.issues[0]?.message ?? 'invalid value')
    return r.data
  }
  const ms = (name: keyof T & string): number | undefined => {
    const v = get(name) as number | undefined
    return v === undefined ? undefined : Math.round(v * 1000)
  }
  return { get, labelOf, given: (name) => merged[name] !== undefined, ms }
}

const HELP_COLUMN = 26
const HELP_WIDTH = 100

/** The option lines of `--help`, from the table: flag and placeholder, text, default, env. */
export function optionsUsage (table: OptionTable, configEnv: string): string {
  const lines: string[] = []
  const entry = (left: string, text: string): void => {
    let line = left.length + 2 > HELP_COLUMN ? left + '  ' : left.padEnd(HELP_COLUMN)
    let fresh = true
    const flush = (): void => {
      lines.push(line.trimEnd())
      line = ' '.repeat(HELP_COLUMN)
      fresh = true
    }
    for (const [i, paragraph] of text.split('\n').entries()) {
      if (i > 0) flush()
      for (const word of paragraph.split(' ')) {
        if (!fresh && line.length + 1 + word.length > HELP_WIDTH) flush()
        line += (fresh ? '' : ' ') + word
        fresh = false
      }
    }
    flush()
  }
  for (const [name, spec] of Object.entries(table)) {
    const shown = spec.shownDefault ?? (spec.default === undefined || spec.kind === 'switch' ? undefined : String(spec.default))
    const notes = [
      ...(spec.kind === 'list' ? ['repeatable'] : []),
      ...(shown === undefined ? [] : [`default ${shown}`]),
      `env ${spec.env}${spec.kind === 'list' ? ', comma separated' : ''}`
    ]
    entry(`  ${flagOf(name)}${spec.arg === undefined ? '' : ' ' + spec.arg}`, `${spec.help} (${notes.join('; ')})`)
  }
  entry('  --config FILE', `JSON or YAML file with the same options, keyed by their camelCase names (env ${configEnv})`)
  return lines.join('\n')
}
