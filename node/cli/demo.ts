import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parsePlan } from '../../plan/load.js'
import { formatFromFileName } from '../../plan/detect.js'
import { createSharedRemote, cloneRepo } from '../git/setup.js'
import { gitAt } from '../git/git.js'
import { agentsForRoles } from '../agents/spec.js'
import { FleetClient } from './client.js'
import { parseCommandArgs } from './args.js'
import { CliError, EXIT_FAILURE } from './errors.js'

export const DEFAULT_DEMO_NODES = 3
/** Without --dir each run gets its own folder here (run-1, run-2, ...), kept for inspection. */
export const DEFAULT_DEMO_ROOT = 'fleet-demo'
export const DEFAULT_DEMO_TIMEOUT_S = 600
const SAMPLE_PLAN = fileURLToPath(new URL('../../../plan/examples/remediation-plan.md', import.meta.url))
/**
 * The nodes run the same fleet program as this command: the bundled one when run as `fleet`
 * (dist/bundle/main.js), the compiled modules when run from dist/node/cli/main.js.
 */
const CLI_ENTRY = process.argv[1] ?? fileURLToPath(new URL('./main.js', import.meta.url))

export const DEMO_USAGE = `usage: fleet demo [--dir DIR] [--plan FILE] [--nodes N] [--executor CMD] [--check CMD] [--timeout SECONDS]
  Runs a whole cluster on this machine: N node processes on 127.0.0.1, a bare git repository
  DIR/remote.git as the shared remote (one clone per node), the plan imported (default: the
  sample remediation plan), one agent per role of the plan (A, B, ... spread over the nodes) with
  the demo executor, live progress here, and a summary. Exits 0 when every task is done and
  merged. DIR (default ./fleet-demo/run-N, a new one each time) is kept for inspection: logs,
  clones, remote.git.`

interface Overview { totalTasks: number, totalEstimatedHours: number, byStatus: Record<string, number>, percentComplete: number }
interface MergeEntry { taskId: string, state: string, reason: string | null }
interface Health { peers: number, leader: string | null }

interface DemoNode { proc: ChildProcess, url: string, peerId: string, addr: string, log: string }

function nextRunDir (root: string): string {
  for (let n = 1; ; n++) {
    const dir = join(root, `run-${n}`)
    if (!existsSync(dir)) return dir
  }
}

/** Starts one node process, its output in DIR/nodeN.log, and waits for its addresses. */
async function startDemoNode (i: number, dir: string, args: string[]): Promise<DemoNode> {
  const log = join(dir, `node${i}.log`)
  const out = createWriteStream(log)
  const proc = spawn(process.execPath, [CLI_ENTRY, 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FLEET_LOG_LEVEL: process.env.FLEET_LOG_LEVEL ?? 'info' } })
  proc.stderr?.pipe(out)
  let text = ''
  proc.stdout?.on('data', (d: Buffer) => { text += d.toString(); out.write(d) })
  const deadline = Date.now() + 30_000
  while (!/^http: /m.test(text)) {
    if (proc.exitCode !== null) throw new CliError(`demo: node ${i} exited with ${proc.exitCode}; see ${log}`, EXIT_FAILURE)
    if (Date.now() > deadline) throw new CliError(`demo: node ${i} did not start within 30 s; see ${log}`, EXIT_FAILURE)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  const field = (name: string): string => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1] ?? ''
  return { proc, url: field('http'), peerId: field('peer id'), addr: field('listen'), log }
}

function bar (percent: number, width = 24): string {
  const full = Math.round(percent / 100 * width)
  return '#'.repeat(full) + '.'.repeat(width - full)
}

type Say = (line: string) => void

interface DemoOptions { dir: string, planFile: string, nodeCount: number, timeoutS: number, executor?: string, check?: string }

/** The command line, checked (exit 2 for a bad value). */
function demoOptions (argv: string[]): DemoOptions {
  const { values } = parseCommandArgs('demo', argv, {
    dir: { type: 'string' }, plan: { type: 'string' }, nodes: { type: 'string' }, executor: { type: 'string' }, check: { type: 'string' }, timeout: { type: 'string' }
  })
  const dir = values.dir === undefined ? nextRunDir(resolve(DEFAULT_DEMO_ROOT)) : resolve(values.dir as string)
  const planFile = resolve((values.plan as string | undefined) ?? SAMPLE_PLAN)
  const nodeCount = Number(values.nodes ?? DEFAULT_DEMO_NODES)
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 9) throw new CliError('demo: --nodes must be a whole number from 1 to 9')
  const timeoutS = Number(values.timeout ?? DEFAULT_DEMO_TIMEOUT_S)
  if (!(timeoutS > 0)) throw new CliError('demo: --timeout must be a positive number of seconds')
  if (existsSync(join(dir, 'remote.git'))) throw new CliError(`demo: ${dir} already holds a demo; remove it or pass another --dir`)
  return {
    dir, planFile, nodeCount, timeoutS,
    ...(values.executor === undefined ? {} : { executor: values.executor as string }),
    ...(values.check === undefined ? {} : { check: values.check as string })
  }
}

/** The plan file, parsed, and one agent per role of it (NAME:ROLE). */
async function demoPlan (planFile: string): Promise<{ text: string, format: ReturnType<typeof formatFromFileName>, plan: ReturnType<typeof parsePlan>, agents: string[] }> {
  let text: string
  try {
    text = await readFile(planFile, 'utf8')
  } catch (err) {
    throw new CliError(`demo: cannot read plan ${planFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT_FAILURE)
  }
  const format = formatFromFileName(planFile)
  const plan = parsePlan(text, { file: planFile, ...(format === undefined ? {} : { format }) })
  const roles = [...new Set(plan.tasks.map(t => t.role).filter((r): r is string => r !== null))]
  if (roles.length === 0) roles.push('dev')
  return { text, format, plan, agents: agentsForRoles(roles).map(a => `${a.name}:${a.role}`) }
}

/** `fleet demo`: the whole pipeline on one machine, without any AI. */
export async function demoCommand (argv: string[]): Promise<number> {
  const opts = demoOptions(argv)
  const { dir, planFile, nodeCount } = opts
  const { text: planText, format, plan, agents } = await demoPlan(planFile)
  const started = Date.now()
  const say: Say = (line) => { process.stdout.write(line + '\n') }
  mkdirSync(dir, { recursive: true })
  const remote = join(dir, 'remote.git')
  await createSharedRemote(remote)
  say(`fleet demo in ${dir}`)
  say(`  shared remote: ${remote}`)
  say(`  plan: ${plan.title} (${plan.tasks.length} tasks, ${plan.tasks.reduce((h, t) => h + t.estimatedHours, 0)} h)`)
  const nodes: DemoNode[] = []
  const stopAll = async (): Promise<void> => {
    await Promise.all(nodes.map(async n => {
      if (n.proc.exitCode !== null || n.proc.signalCode !== null) return
      const done = new Promise(resolve => n.proc.once('exit', resolve))
      n.proc.kill('SIGTERM')
      const t = setTimeout(() => n.proc.kill('SIGKILL'), 10_000)
      await done
      clearTimeout(t)
    }))
  }
  const onSignal = (): void => { stopAll().finally(() => process.exit(130)) }
  process.once('SIGINT', onSignal)
  try {
    for (let i = 1; i <= nodeCount; i++) {
      const repo = join(dir, `node${i}`, 'repo')
      await cloneRepo(remote, repo)
      const mine = agents.filter((_, k) => k % nodeCount === i - 1)
      const args = [
        '--data', join(dir, `node${i}`, 'data'), '--http', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', '--repo', repo,
        ...mine.flatMap(a => ['--agent', a]),
        ...(opts.executor === undefined ? [] : ['--executor', opts.executor]),
        ...(opts.check === undefined ? [] : ['--check', opts.check]),
        ...(nodes[0] === undefined ? [] : ['--bootstrap', nodes[0].addr])
      ]
      const n = await startDemoNode(i, dir, args)
      nodes.push(n)
      say(`  node ${i}: ${n.url}  agents ${mine.map(a => a.split(':')[0]).join(', ') || '-'}  (log ${n.log})`)
    }
    const clients = nodes.map(n => new FleetClient({ baseUrl: n.url }))
    const first = clients[0] as FleetClient
    const waitUntil = async (what: string, check: () => Promise<boolean>): Promise<void> => {
      while (!(await check().catch(() => false))) {
        if (Date.now() - started > opts.timeoutS * 1000) throw new CliError(`demo: timed out after ${opts.timeoutS} s waiting for ${what}`, EXIT_FAILURE)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    }
    await waitUntil('the nodes to connect', async () => (await Promise.all(clients.map(async c => (await c.get<Health>('/health')).peers))).every(p => p === nodeCount - 1))
    await first.post('/api/plan/import', { content: planText, file: planFile, ...(format === undefined ? {} : { format }) })
    say(`  plan imported through node 1; ${agents.length} agents at work (${agents.join(' ')})`)
    const { ov, queue } = await watchProgress(first, waitUntil, started, dir, say)
    await summarize(dir, remote, ov, queue, started, say)
    return 0
  } finally {
    process.off('SIGINT', onSignal)
    await stopAll()
  }
}

/** Prints progress (one updating line on a terminal, a line every 2 s otherwise) until every task is done. */
async function watchProgress (first: FleetClient, waitUntil: (what: string, check: () => Promise<boolean>) => Promise<void>, started: number, dir: string, say: Say): Promise<{ ov: Overview, queue: MergeEntry[] }> {
  const tty = process.stdout.isTTY
  let lastLine = ''
  let lastPrint = 0
  let ov: Overview = { totalTasks: 0, totalEstimatedHours: 0, byStatus: {}, percentComplete: 0 }
  let queue: MergeEntry[] = []
  await waitUntil('every task to be done and merged', async () => {
    ov = await first.get<Overview>('/api/progress/overview')
    queue = await first.get<MergeEntry[]>('/api/git/merge-queue')
    const health = await first.get<Health>('/health')
    const s = ov.byStatus
    const merged = queue.filter(e => e.state === 'merged').length
    const line = `[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${bar(ov.percentComplete)} ${ov.percentComplete.toFixed(0).padStart(3)}%  done ${s.done ?? 0}/${ov.totalTasks}  working ${(s.claimed ?? 0) + (s.in_progress ?? 0)}  review ${s.review ?? 0}  merged ${merged}  ejected ${queue.filter(e => e.state === 'ejected').length}  leader ${health.leader?.slice(-6) ?? '-'}`
    if (tty) {
      process.stdout.write('\r' + line.padEnd(lastLine.length))
    } else if (line !== lastLine && Date.now() - lastPrint > 2000) {
      say(line)
      lastPrint = Date.now()
    }
    lastLine = line
    if ((s.failed ?? 0) > 0) throw new CliError(`demo: ${s.failed ?? 0} task(s) failed; see the logs in ${dir}`, EXIT_FAILURE)
    return ov.totalTasks > 0 && (s.done ?? 0) === ov.totalTasks
  })
  if (tty) process.stdout.write('\n')
  return { ov, queue }
}

/** What landed in git: every task's change exactly once on main. */
async function summarize (dir: string, remote: string, ov: Overview, queue: MergeEntry[], started: number, say: Say): Promise<void> {
  const clone = gitAt(join(dir, 'node1', 'repo'))
  await clone.raw(['fetch', 'origin'])
  const log = await clone.raw(['log', '--format=%s', 'origin/main'])
  const merges = log.split('\n').filter(l => /^Merge /.test(l) || /merge/i.test(l)).length
  const files = (await clone.raw(['ls-tree', '-r', '--name-only', 'origin/main'])).split('\n').filter(f => f.startsWith('work/'))
  const secs = (Date.now() - started) / 1000
  say(`done: ${ov.totalTasks} tasks, ${ov.totalEstimatedHours} h, ${queue.filter(e => e.state === 'merged').length} merges (${queue.filter(e => e.state === 'ejected').length} ejected and redone), ${files.length} task files on main, ${merges} merge commits, wall time ${secs.toFixed(1)} s`)
  say(`inspect: git --git-dir ${remote} log --oneline main | head; logs in ${dir}/node*.log`)
}
