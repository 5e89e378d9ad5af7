import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { formatFromFileName } from '../../plan/detect.js'
import type { ImportSummary } from '../services/plans.js'
import { parseCommandArgs } from './args.js'
import { CliError, EXIT_FAILURE } from './errors.js'

export const DEFAULT_NODE_URL = 'http://127.0.0.1:3000'

export const PLAN_USAGE = `usage: fleet plan import FILE [--node URL]
  Imports a plan (Markdown, YAML or JSON; see README) into the cluster through any node.
  --node URL   the node's HTTP API (default ${DEFAULT_NODE_URL}; env FLEET_NODE)
  --token T    bearer token when the node requires one (env FLEET_API_TOKEN)`

interface Problem { path: string, message: string, line?: number, file?: string }

/** `fleet plan import FILE`: one summary line and exit 0, or every problem and exit 1. */
export async function planCommand (argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub !== 'import') throw new CliError(`plan: unknown subcommand "${sub ?? ''}" (try: fleet plan import FILE)`)
  const { values, positionals } = parseCommandArgs('plan import', rest, { node: { type: 'string' }, token: { type: 'string' } }, true)
  if (positionals.length !== 1) throw new CliError('plan import: give exactly one plan FILE')
  const file = positionals[0] as string
  const node = (values.node as string | undefined) ?? process.env.FLEET_NODE ?? DEFAULT_NODE_URL
  const token = (values.token as string | undefined) ?? process.env.FLEET_API_TOKEN
  let url: URL
  try {
    url = new URL('/api/plan/import', node)
  } catch {
    throw new CliError(`plan import: --node "${node}" is not a URL`)
  }
  let content: string
  try {
    content = await readFile(file, 'utf8')
  } catch (err) {
    throw new CliError(`plan import: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT_FAILURE)
  }
  const format = formatFromFileName(file)
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify({ content, file: basename(file), ...(format === undefined ? {} : { format }) })
    })
  } catch (err) {
    throw new CliError(`plan import: cannot reach ${node}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`, EXIT_FAILURE)
  }
  const body = await res.json().catch(() => null) as (ImportSummary & { error?: string, details?: unknown }) | null
  if (!res.ok) {
    process.stderr.write(`fleet: plan import: ${body?.error ?? `HTTP ${res.status}`}\n`)
    if (Array.isArray(body?.details)) {
      for (const p of body.details as Problem[]) process.stderr.write(`  ${p.file ?? basename(file)}${p.line === undefined ? '' : `:${p.line}`}: ${p.path === '' ? '' : `${p.path}: `}${p.message}\n`)
    }
    return EXIT_FAILURE
  }
  if (body === null) throw new CliError('plan import: the node answered with something that is not JSON', EXIT_FAILURE)
  const c = body.tasks
  process.stdout.write(`imported plan ${body.planId}: ${body.totalTasks} tasks, ${body.totalEstimatedHours} h ` +
    `(${c.added} added, ${c.updated} updated, ${c.cancelled} cancelled, ${c.unchanged} unchanged, ${c.skipped} skipped)` +
    `${body.changed ? '' : ', document unchanged'}\n`)
  for (const s of body.skipped) process.stdout.write(`  skipped ${s.id}: ${s.reason}\n`)
  return 0
}
