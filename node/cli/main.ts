#!/usr/bin/env node
import '../polyfill.js'
import { ConfigError } from '../options/table.js'
import { CliError, EXIT_FAILURE, EXIT_USAGE, traceOf } from './errors.js'

type Command = (argv: string[]) => Promise<number>

/**
 * Each command's module is imported only when that command runs: `fleet start` needs libp2p,
 * Automerge, LevelDB and Fastify (about a second of module loading), `fleet status` or
 * `fleet key` none of them.
 */
const commands: Record<string, () => Promise<{ run: Command, usage: string }>> = {
  start: async () => { const m = await import('./start.js'); return { run: m.startCommand, usage: m.START_USAGE } },
  agent: async () => { const m = await import('./agent.js'); return { run: m.agentCommand, usage: m.AGENT_USAGE } },
  key: async () => { const m = await import('./key.js'); return { run: m.keyCommand, usage: m.KEY_USAGE } },
  plan: async () => { const m = await import('./plan.js'); return { run: m.planCommand, usage: m.PLAN_USAGE } },
  demo: async () => { const m = await import('./demo.js'); return { run: m.demoCommand, usage: m.DEMO_USAGE } },
  status: async () => { const m = await import('./status.js'); return { run: m.statusCommand, usage: m.STATUS_USAGE } },
  tasks: async () => { const m = await import('./status.js'); return { run: m.tasksCommand, usage: m.TASKS_USAGE } },
  agents: async () => { const m = await import('./status.js'); return { run: m.agentsCommand, usage: m.AGENTS_USAGE } },
  report: async () => { const m = await import('./report.js'); return { run: m.reportCommand, usage: m.REPORT_USAGE } }
}

const USAGE = `usage: fleet <command> [options]
commands:
  start        run a node (see fleet start --help)
  agent        run agents outside any node, through the HTTP API of one or more nodes
  key          print a new swarm key, API token, or a node's peer id (see fleet key --help)
  plan import  import a plan file through a node
  plan simulate  simulated makespan of a plan file (fleet's ordering, plan order, lower bound)
  demo         run a whole cluster with agents and a merge queue on this machine
  status       what a node sees: peers, leader, tasks, epics, agents, merge queue
  tasks        list tasks (--status, --epic, --role)
  agents       list agents with their health
  report       progress, forecast, per-agent and per-role figures, throughput, slow tasks, failures`

async function main (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n')
    return name === undefined ? EXIT_USAGE : 0
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (load === undefined) throw new CliError(`unknown command "${name}" (try: ${Object.keys(commands).join(', ')})`)
  const cmd = await load()
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.usage + '\n')
    return 0
  }
  return await cmd.run(rest)
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
  // Open handles (sockets in TIME_WAIT, timers of libraries) must not keep a finished command alive.
  setTimeout(() => process.exit(code), 200).unref()
}, (err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`fleet: ${err.message}\n${err.trace === undefined ? '' : traceOf(err.trace) + '\n'}`)
    process.exit(err.exitCode)
  } else if (err instanceof ConfigError) {
    process.stderr.write(`fleet: ${err.message}\n`)
    process.exit(EXIT_USAGE)
  } else {
    process.stderr.write(`fleet: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(EXIT_FAILURE)
  }
})
