import { readFileSync } from 'node:fs'
import { multiaddr } from '@multiformats/multiaddr'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { parseBootstrapAddr, readBootstrapFile, BootstrapListError, type BootstrapPeer } from '../bootstrap/peers.js'

export const DEFAULT_DATA_DIR = './.fleet'
export const DEFAULT_LISTEN = '/ip4/0.0.0.0/tcp/4001'
export const DEFAULT_HTTP = '127.0.0.1:3000'
export const DEFAULT_CLUSTER_NAME = 'default'
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** A bad option: `option` is how the user spelled it (--http, FLEET_HTTP, http in FILE). */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor (readonly option: string, readonly reason: string) {
    super(`invalid ${option}: ${reason}`)
  }
}

const hostPort = z.string().transform((s, ctx) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s)
  const port = m === null ? NaN : Number(m[2])
  if (m === null || !(port >= 0 && port <= 65535)) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not HOST:PORT (e.g. 127.0.0.1:3000; port 0 picks a free port)` })
    return z.NEVER
  }
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port }
})

const multiaddrText = z.string().superRefine((s, ctx) => {
  try {
    multiaddr(s)
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a multiaddr (e.g. /ip4/0.0.0.0/tcp/4001)` })
  }
})

/** Each option: its schema for one raw value, and whether it repeats. */
const fields = {
  data: { schema: z.string().min(1, 'must not be empty'), repeat: false },
  listen: { schema: multiaddrText, repeat: true },
  bootstrap: { schema: z.string(), repeat: true },
  bootstrapFile: { schema: z.string().min(1), repeat: false },
  http: { schema: hostPort, repeat: false },
  cluster: { schema: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lowercase letters, digits, - and _ (at most 63)'), repeat: false },
  logLevel: { schema: z.enum(LOG_LEVELS), repeat: false },
  fsync: { schema: z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform(v => v === 'true' || v === '1')]), repeat: false }
} as const

export type StartField = keyof typeof fields

export interface StartConfig {
  data: string
  listen: string[]
  bootstrap: BootstrapPeer[]
  http: { host: string, port: number }
  cluster: string
  logLevel: typeof LOG_LEVELS[number]
  fsync: boolean
}

/** How each field is spelled on the command line and in the environment. */
const flagOf: Record<StartField, string> = {
  data: '--data', listen: '--listen', bootstrap: '--bootstrap', bootstrapFile: '--bootstrap-file', http: '--http', cluster: '--cluster', logLevel: '--log-level', fsync: '--fsync'
}
const envOf: Record<StartField, string> = {
  data: 'FLEET_DATA', listen: 'FLEET_LISTEN', bootstrap: 'FLEET_BOOTSTRAP', bootstrapFile: 'FLEET_BOOTSTRAP_FILE', http: 'FLEET_HTTP', cluster: 'FLEET_CLUSTER', logLevel: 'FLEET_LOG_LEVEL', fsync: 'FLEET_FSYNC'
}

export type RawOptions = Partial<Record<StartField, string | boolean | string[] | undefined>>

interface Sourced { value: unknown, label: string }

function fromEnv (env: NodeJS.ProcessEnv): Partial<Record<StartField, Sourced>> {
  const out: Partial<Record<StartField, Sourced>> = {}
  for (const f of Object.keys(fields) as StartField[]) {
    const v = env[envOf[f]]
    if (v === undefined || v === '') continue
    out[f] = { value: fields[f].repeat ? v.split(/[\s,]+/).filter(Boolean) : v, label: envOf[f] }
  }
  return out
}

function fromFile (path: string): Partial<Record<StartField, Sourced>> {
  let raw: unknown
  try {
    const text = readFileSync(path, 'utf8')
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    throw new ConfigError(`--config ${path}`, (err as Error).message.split('\n')[0] ?? 'unreadable')
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`--config ${path}`, 'expected a mapping of option names to values')
  const out: Partial<Record<StartField, Sourced>> = {}
  for (const [k, v] of Object.entries(raw)) {
    if (!(k in fields)) throw new ConfigError(`${k} in ${path}`, `unknown option (known: ${Object.keys(fields).join(', ')})`)
    out[k as StartField] = { value: v, label: `${k} in ${path}` }
  }
  return out
}

/**
 * Resolves `fleet start` options: command line over environment over config file over
 * defaults. Every value is validated; the first bad one throws a ConfigError naming it.
 */
export function resolveStartConfig (cli: RawOptions, env: NodeJS.ProcessEnv = process.env, configFile?: string): StartConfig {
  const cliSourced: Partial<Record<StartField, Sourced>> = {}
  for (const f of Object.keys(fields) as StartField[]) {
    const v = cli[f]
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue
    cliSourced[f] = { value: v, label: flagOf[f] }
  }
  const file = configFile ?? env.FLEET_CONFIG
  const merged = { ...(file === undefined ? {} : fromFile(file)), ...fromEnv(env), ...cliSourced }

  const get = <F extends StartField>(f: F, dflt: unknown): unknown => {
    const s = merged[f]
    const value = s?.value ?? dflt
    const label = s?.label ?? flagOf[f]
    if (value === undefined) return undefined
    const schema = fields[f].repeat ? z.array(fields[f].schema) : fields[f].schema
    const r = schema.safeParse(fields[f].repeat && !Array.isArray(value) ? [value] : value)
    if (!r.success) throw new ConfigError(label, r.error.issues[0]?.message ?? 'invalid value')
    return r.data
  }

  const bootstrap: BootstrapPeer[] = []
  const bootLabel = merged.bootstrap?.label ?? '--bootstrap'
  for (const b of get('bootstrap', []) as string[]) {
    try {
      bootstrap.push(parseBootstrapAddr(b, 'address'))
    } catch (err) {
      throw new ConfigError(bootLabel, (err as Error).message)
    }
  }
  const bootFile = get('bootstrapFile', undefined) as string | undefined
  if (bootFile !== undefined) {
    try {
      bootstrap.push(...readBootstrapFile(bootFile))
    } catch (err) {
      if (err instanceof BootstrapListError) throw new ConfigError(merged.bootstrapFile?.label ?? '--bootstrap-file', err.message)
      throw err
    }
  }
  return {
    data: get('data', DEFAULT_DATA_DIR) as string,
    listen: get('listen', [DEFAULT_LISTEN]) as string[],
    bootstrap,
    http: get('http', DEFAULT_HTTP) as { host: string, port: number },
    cluster: get('cluster', DEFAULT_CLUSTER_NAME) as string,
    logLevel: get('logLevel', 'info') as StartConfig['logLevel'],
    fsync: get('fsync', false) as boolean
  }
}
