import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { formatFromFileName } from '../../plan/detect.js'
import type { ImportSummary } from '../services/plans.js'
import { parseCommandArgs } from './args.js'
import { ApiError, DEFAULT_NODE_URL, NodeUnreachableError } from './client.js'
import { clientOptions } from './status.js'
import { CliError, EXIT_FAILURE } from './errors.js'
import { simulateCommand, SIMULATE_USAGE } from './simulate.js'

export const PLAN_USAGE = `usage: fleet plan import FILE [--node URL]
  Imports a plan (Markdown, YAML or JSON; see README) into the cluster through any node.
  --node URL   the node's HTTP API (default ${DEFAULT_NODE_URL}; env FLEET_NODE)
  --token T    bearer token when the node requires one (env FLEET_API_TOKEN)
  --ca FILE    trust this PEM CA for an https:// node, besides the system CAs (env FLEET_CA)

${SIMULATE_USAGE}`

interface Problem { path: string, message: string, line?: number, file?: string }

/** `fleet plan import FILE`: one summary line and exit 0, or every problem and exit 1. */
export async function planCommand (argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === 'simulate') return await simulateCommand(rest)
  if (sub !== 'import') throw new CliError(`plan: unknown subcommand "${sub ?? ''}" (try: fleet plan import FILE, fleet plan simulate FILE)`)
  const { values, positionals } = parseCommandArgs('plan import', rest, { node: { type: 'string' }, token: { type: 'string' }, ca: { type: 'string' } }, true)
  if (positionals.length !== 1) throw new CliError('plan import: give exactly one plan FILE')
  const file = positionals[0] as string
  const token = (values.token as string | undefined) ?? process.env.FLEET_API_TOKEN
  const client = clientOptions(values.node as string | undefined, values.ca as string | undefined, token)
  let content: string
  try {
    content = await readFile(file, 'utf8')
  } catch (err) {
    throw new CliError(`plan import: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT_FAILURE)
  }
  const format = formatFromFileName(file)
  let body: ImportSummary
  try {
    body = await client.post<ImportSummary>('/api/plan/import', { content, file: basename(file), ...(format === undefined ? {} : { format }) })
  } catch (err) {
    if (err instanceof NodeUnreachableError) throw new CliError(`plan import: ${err.message}`, EXIT_FAILURE)
    if (!(err instanceof ApiError)) throw err
    process.stderr.write(`fleet: plan import: ${err.message.replace(/^POST \S+ -> \d+: /, '')}\n`)
    if (Array.isArray(err.details)) {
      for (const p of err.details as Problem[]) process.stderr.write(`  ${p.file ?? basename(file)}${p.line === undefined ? '' : `:${p.line}`}: ${p.path === '' ? '' : `${p.path}: `}${p.message}\n`)
    }
    return EXIT_FAILURE
  }
  const c = body.tasks
  process.stdout.write(`imported plan ${body.planId}: ${body.totalTasks} tasks, ${body.totalEstimatedHours} h ` +
    `(${c.added} added, ${c.updated} updated, ${c.cancelled} cancelled, ${c.unchanged} unchanged, ${c.skipped} skipped)` +
    `${body.changed ? '' : ', document unchanged'}\n`)
  for (const s of body.skipped) process.stdout.write(`  skipped ${s.id}: ${s.reason}\n`)
  return 0
}
