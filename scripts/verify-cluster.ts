import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { BadNodeUrlError, parseNodeUrl } from '../node/cli/client.js'
import { CHECKS, DEFAULT_VERIFY_TIMEOUT_MS, formatResult, verifyCluster, type CheckName } from './lib/verify.js'

const USAGE = `usage: verify-cluster.sh [options] URL...
Checks a fleet cluster through the HTTP API of each node given (one URL per node):
  1 health  every node answers GET /health with status healthy
  2 peers   each node is connected to every other one given
  3 heads   all nodes have the same document heads (waits up to --timeout)
  4 plan    a plan is loaded (tasks, hours, epics)
  5 agents  agents are registered and healthy
  6 claim   a claim round trip: registers agent "fleet-verify", claims the first available
            task on the first node, waits until the last node shows it confirmed, releases it
            (the task goes back to pending with its attempt number raised; no failure counted).
            Without an available task, or with --read-only, it only reads.
  7 merge   the merge queue answers and all nodes name the same leader
Prints one line per check; exits 1 naming the failed checks, 2 on bad usage.
options:
  --token-file FILE   API token for the claim's writes (env FLEET_API_TOKEN_FILE, or FLEET_API_TOKEN)
  --read-only         never write (check 6 only counts available tasks)
  --only LIST         run only these checks (names or numbers, comma separated)
  --skip LIST         run all but these
  --expect-agents N   check 5 wants at least N healthy agents (default 1)
  --timeout SEC       for heads to converge and a claim to confirm (default ${DEFAULT_VERIFY_TIMEOUT_MS / 1000})`

class UsageError extends Error {}

function checkList (value: string, option: string): CheckName[] {
  return value.split(',').map(s => s.trim()).filter(Boolean).map((s) => {
    const byNumber = /^\d+$/.test(s) ? CHECKS[Number(s) - 1] : undefined
    const name = byNumber ?? CHECKS.find(c => c === s)
    if (name === undefined) throw new UsageError(`${option}: unknown check "${s}" (checks: ${CHECKS.join(', ')} or 1-7)`)
    return name
  })
}

function readToken (path: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new UsageError(`--token-file: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  const token = text.trim()
  if (token === '' || /\s/.test(token)) throw new UsageError(`--token-file: ${path} must hold one token on one line`)
  return token
}

async function main (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'token-file': { type: 'string' },
      'read-only': { type: 'boolean' },
      only: { type: 'string' },
      skip: { type: 'string' },
      'expect-agents': { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) {
    process.stdout.write(USAGE + '\n')
    return 0
  }
  if (positionals.length === 0) throw new UsageError('give the URL of every node, e.g. http://10.0.0.1:3000 http://10.0.0.2:3000')
  const urls = positionals.map((u) => {
    try { return parseNodeUrl(u) } catch (err) {
      if (err instanceof BadNodeUrlError) throw new UsageError(err.message)
      throw err
    }
  })
  const skip = new Set(values.skip === undefined ? [] : checkList(values.skip, '--skip'))
  const checks = (values.only === undefined ? [...CHECKS] : checkList(values.only, '--only')).filter(c => !skip.has(c))
  const timeout = values.timeout === undefined ? DEFAULT_VERIFY_TIMEOUT_MS / 1000 : Number(values.timeout)
  if (!(timeout > 0)) throw new UsageError(`--timeout: "${values.timeout}" is not a positive number of seconds`)
  const expectAgents = values['expect-agents'] === undefined ? 1 : Number(values['expect-agents'])
  if (!Number.isInteger(expectAgents) || expectAgents < 0) throw new UsageError(`--expect-agents: "${values['expect-agents']}" is not a whole number`)
  const tokenFile = values['token-file'] ?? process.env.FLEET_API_TOKEN_FILE
  const token = tokenFile !== undefined && tokenFile !== '' ? readToken(tokenFile) : process.env.FLEET_API_TOKEN

  const results = await verifyCluster({
    urls,
    checks,
    readOnly: values['read-only'] === true,
    expectAgents,
    timeoutMs: timeout * 1000,
    ...(token === undefined || token === '' ? {} : { token }),
    onResult: (r) => { process.stdout.write(formatResult(r) + '\n') }
  })
  const failed = results.filter(r => !r.ok)
  if (failed.length === 0) {
    process.stdout.write(`verify-cluster: ${results.length} of ${results.length} checks passed on ${urls.length} nodes\n`)
    return 0
  }
  process.stdout.write(`verify-cluster: FAILED ${failed.map(r => `${r.number} ${r.name}`).join(', ')} (${results.length - failed.length} of ${results.length} passed)\n`)
  return 1
}

main(process.argv.slice(2)).then((code) => { process.exit(code) }, (err: unknown) => {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
    process.stderr.write(`verify-cluster: ${(err as Error).message}\n(see verify-cluster.sh --help)\n`)
    process.exit(2)
  }
  process.stderr.write(`verify-cluster: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
