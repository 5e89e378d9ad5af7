#!/usr/bin/env node
import '../polyfill.js'
import { ConfigError } from '../config.js'
import { CliError, EXIT_FAILURE, EXIT_USAGE, traceOf } from './errors.js'
import { startCommand, START_USAGE } from './start.js'
import { agentCommand, AGENT_USAGE } from './agent.js'
import { keyCommand, KEY_USAGE } from './key.js'
import { planCommand, PLAN_USAGE } from './plan.js'
import { demoCommand, DEMO_USAGE } from './demo.js'
import { reportCommand, REPORT_USAGE } from './report.js'
import { agentsCommand, AGENTS_USAGE, statusCommand, STATUS_USAGE, tasksCommand, TASKS_USAGE } from './status.js'

type Command = (argv: string[]) => Promise<number>

const commands: Record<string, { run: Command, usage: string }> = {
  start: { run: startCommand, usage: START_USAGE },
  agent: { run: agentCommand, usage: AGENT_USAGE },
  key: { run: keyCommand, usage: KEY_USAGE },
  plan: { run: planCommand, usage: PLAN_USAGE },
  demo: { run: demoCommand, usage: DEMO_USAGE },
  status: { run: statusCommand, usage: STATUS_USAGE },
  tasks: { run: tasksCommand, usage: TASKS_USAGE },
  agents: { run: agentsCommand, usage: AGENTS_USAGE },
  report: { run: reportCommand, usage: REPORT_USAGE }
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
  const cmd = commands[name]
  if (cmd === undefined) throw new CliError(`unknown command "${name}" (try: ${Object.keys(commands).join(', ')})`)
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
