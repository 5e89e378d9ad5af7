import assert from 'node:assert/strict'
import { DocStore } from '../../../crdt/doc-store.js'
import {
  AgentReplacedError, AgentRunningError, ClaimRefusedError, ConflictError, DOMAIN_ERROR_CODES, DomainError, EvidenceTooLargeError,
  FencedError, InvalidInputError, NotCaughtUpError, NotFoundError
} from '../../../crdt/errors.js'
import { StorageUnavailableError } from '../../../crdt/storage/errors.js'
import { DOMAIN_ERROR_STATUS, errorReply, HttpError } from '../../../node/http/errors.js'
import { silentLogger } from '../../../node/logger.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'

describe('http/errors: domain error codes to HTTP replies', () => {
  it('maps every domain code to a 4xx or 5xx status', () => {
    for (const code of DOMAIN_ERROR_CODES) {
      const status = DOMAIN_ERROR_STATUS[code]
      assert.ok(Number.isInteger(status) && status >= 400 && status < 600, `${code} has no error status (got ${String(status)})`)
      assert.equal(errorReply(new DomainError(code, `boom ${code}`)).status, status, `reply status of ${code}`)
    }
  })

  it('gives each error class the status and {error, details} body clients read', () => {
    const cases: Array<[Error, number, unknown]> = [
      [new NotFoundError('task t1 not found', { taskId: 't1' }), 404, { taskId: 't1' }],
      [new ConflictError('task t1 already exists', { taskId: 't1' }), 409, { taskId: 't1' }],
      [new ClaimRefusedError('task t1 is done', { status: 'done' }), 409, { status: 'done' }],
      // HttpCoordinator reads details.state of a 409 as "fenced": it must be there.
      [new FencedError('a1', 'lost', 'assignment a1 is lost'), 409, { assignmentId: 'a1', state: 'lost' }],
      [new NotCaughtUpError('peer-9'), 503, { peer: 'peer-9' }],
      [new EvidenceTooLargeError(70_000, 65_536), 413, { bytes: 70_000, limit: 65_536 }],
      [new InvalidInputError('invalid body: x: required', [{ path: 'x', message: 'required' }]), 400, [{ path: 'x', message: 'required' }]],
      [new AgentRunningError('agent A runs elsewhere', 'A'), 409, { code: 'agent-running', agentId: 'A' }],
      [new AgentReplacedError('agent A was replaced', 'A'), 409, { code: 'agent-replaced', agentId: 'A' }],
      [new NotFoundError('no details'), 404, null]
    ]
    for (const [err, status, details] of cases) {
      const r = errorReply(err)
      assert.equal(r.status, status, err.name)
      assert.deepEqual(r.body, { error: err.message, details }, err.name)
      assert.equal(r.internal, false)
      assert.equal(r.retryAfter, undefined, `${err.name} has no retry-after`)
    }
  })

  it('answers a storage failure with 503, its details and a retry-after', () => {
    const r = errorReply(new StorageUnavailableError('disk-full', 'No space left on device', 1000))
    assert.equal(r.status, 503)
    assert.equal((r.body.details as { code: string }).code, 'STORAGE_UNAVAILABLE')
    assert.equal(r.retryAfter, 2)
  })

  it('keeps HTTP-only errors and Fastify client errors as they are', () => {
    assert.deepEqual(errorReply(new HttpError(401, 'unauthorized: wrong token', { scheme: 'session' })), { status: 401, body: { error: 'unauthorized: wrong token', details: { scheme: 'session' } }, internal: false })
    const bodyTooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' })
    assert.deepEqual(errorReply(bodyTooLarge), { status: 413, body: { error: 'Request body is too large', details: { code: 'FST_ERR_CTP_BODY_TOO_LARGE' } }, internal: false })
  })

  it('answers anything else with a 500 that tells nothing of the inside', () => {
    for (const err of [new TypeError('x is undefined'), Object.assign(new Error('odd'), { code: 'SOME_OTHER_CODE' }), 'a string', null, Object.assign(new Error('x'), { statusCode: 502 })]) {
      assert.deepEqual(errorReply(err), { status: 500, body: { error: 'internal error', details: null }, internal: true }, String(err))
    }
  })

  it('a domain error thrown inside a document change comes back out as the same error, and nothing is written', async () => {
    const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger(), actor: 'aa' })
    const before = store.heads().join()
    const thrown = new ConflictError('task t1 already exists', { taskId: 't1' })
    await assert.rejects(store.change((d) => {
      d.plan.importedAt = 1
      throw thrown
    }), (err: unknown) => err === thrown && err instanceof ConflictError && err.code === 'CONFLICT')
    assert.equal(store.heads().join(), before)
    await store.close()
  })
})
