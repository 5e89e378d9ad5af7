import { parentPort } from 'node:worker_threads'
import { snapshotOf, type CompactRequest, type CompactReply } from './compact.js'

/**
 * Worker thread entry: builds a snapshot from stored bytes (the last snapshot and the chunks
 * saved after it), so the node's event loop never spends the hundreds of milliseconds a large
 * document's A.save takes.
 */
parentPort?.on('message', (req: CompactRequest) => {
  let reply: CompactReply
  try {
    const snapshot = snapshotOf(req.snapshot, req.chunks)
    reply = { id: req.id, snapshot }
    parentPort?.postMessage(reply, [snapshot.buffer as ArrayBuffer])
  } catch (err) {
    reply = { id: req.id, error: (err as Error).message }
    parentPort?.postMessage(reply)
  }
})
