import { parentPort } from 'node:worker_threads'
import { prepareImport } from '../../plan/prepare.js'
import type { ExistingTask } from '../../plan/revision.js'
import type { Plan } from '../../plan/schema.js'
import type { ImportStep } from '../../plan/import-steps.js'
import { planFromBytes } from './plan-body.js'
import { DEFAULT_PLAN_SLICE, errorToWorker, type FromWorker, type ToWorker } from './plan-preparer.js'

/**
 * Worker thread entry of an import's preparation (protocol in plan-preparer.ts): reads the body,
 * takes the document's tasks, plans the import and hands the writes back a slice per request.
 * One import per worker; the node terminates it afterwards.
 */
const port = parentPort
if (port === null) throw new Error('plan-worker.js runs only as a worker thread')

let plan: Plan | null = null
const existing: ExistingTask[] = []
let steps: ImportStep[] = []
let slice = DEFAULT_PLAN_SLICE
let sent = 0

function send (m: FromWorker): void { port?.postMessage(m) }

port.on('message', (m: ToWorker) => {
  try {
    if (m.type === 'body') {
      plan = planFromBytes(m.bytes)
      send({ type: 'parsed' })
    } else if (m.type === 'existing') {
      for (const t of m.tasks) existing.push(t)
    } else if (m.type === 'existingEnd') {
      if (plan === null) throw new Error('existing tasks before a plan')
      slice = Math.max(1, m.slice)
      const { steps: all, ...head } = prepareImport(plan, existing, m.epics)
      steps = all
      send({ type: 'prepared', head, stepCount: steps.length })
    } else {
      const next = steps.slice(sent, sent + slice)
      sent += next.length
      send({ type: 'steps', steps: next, last: sent >= steps.length })
    }
  } catch (err) {
    send({ type: 'failed', error: errorToWorker(err) })
  }
})
