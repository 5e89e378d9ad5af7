/**
 * The built-in demo executor (`--executor demo`): makes a small, real change per task so the whole
 * pipeline (commit, push, merge queue) runs without any AI. Each task writes only its own file,
 * `work/<taskId>.md`, so no two tasks conflict. Runs in the task's worktree with the FLEET_* env.
 *
 * FLEET_DEMO_DELAY_MS (default 0) spreads that much sleep over the progress steps, to watch the
 * progress move or to keep an agent busy in a test.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const env = process.env
const id = env.FLEET_TASK_ID
if (id === undefined || id === '') {
  process.stderr.write('demo executor: FLEET_TASK_ID is not set (run by a fleet agent)\n')
  process.exit(2)
}
const delay = Math.max(0, Number(env.FLEET_DEMO_DELAY_MS ?? '0') || 0)
const step = async (): Promise<void> => {
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay / 3))
}

const section = (title: string, body: string | undefined): string =>
  body === undefined || body.trim() === '' ? '' : `\n## ${title}\n\n${body.trim()}\n`

process.stdout.write(`progress 10 reading task ${id}\n`)
await step()
const file = join('work', `${id.replace(/[^A-Za-z0-9._-]/g, '_')}.md`)
const text = `# ${id}: ${env.FLEET_TASK_TITLE ?? ''}\n` +
  section('Description', env.FLEET_TASK_DESCRIPTION) +
  section('Acceptance', env.FLEET_TASK_ACCEPTANCE) +
  section('Previous attempt', env.FLEET_TASK_REASON) +
  `\nDone by agent ${env.FLEET_AGENT_ID ?? '?'}, attempt ${env.FLEET_ATTEMPT ?? '?'}, on ${env.FLEET_BRANCH ?? '?'}.\n`
process.stdout.write(`progress 50 writing ${file}\n`)
await step()
mkdirSync('work', { recursive: true })
writeFileSync(file, text)
await step()
process.stdout.write(`progress 100 wrote ${file}\n`)
