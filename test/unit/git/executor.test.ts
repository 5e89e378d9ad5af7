import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { WorkTask } from '../../../node/agents/coordinator.js'
import { DEMO_EXECUTOR_SCRIPT, Executor, parseProgressLine, resolveExecutorCommand, type ProgressLine } from '../../../node/agents/executor.js'
import { waitFor } from '../../../scripts/lib/wait.js'

const task: WorkTask = { id: 'T1.2', title: 'Add "quotes" & $vars', description: 'line one\nline two', acceptance: 'it works', role: 'backend', attempt: 2, reason: null }
const ctx = { branch: 'fleet/T1.2', agentId: 'A', base: 'abc123' }

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('executor', function () {
  this.timeout(20_000)
  let cwd: string
  beforeEach(() => { cwd = mkdtempSync(join(tmpdir(), 'fleet-exec-')) })
  afterEach(() => rmSync(cwd, { recursive: true, force: true }))

  it('turns "progress N msg" stdout lines into progress callbacks and succeeds on exit 0', async () => {
    const ex = new Executor({ command: 'echo "progress 10 starting"; echo hello; echo "progress 55.6"; echo "progress 100 all done" ; echo "progress 20 on stderr" >&2' })
    const seen: ProgressLine[] = []
    const r = await ex.run(task, ctx, { cwd, onProgress: (p) => seen.push(p) })
    assert.equal(r.ok, true)
    assert.equal(r.exitCode, 0)
    assert.equal(r.reason, null)
    assert.deepEqual(seen, [{ percent: 10, message: 'starting' }, { percent: 56, message: null }, { percent: 100, message: 'all done' }])
    assert.match(r.stdoutTail, /hello/)
    assert.ok(r.durationMs >= 0)
  })

  it('fails a non-zero exit with the stderr tail as reason', async () => {
    const ex = new Executor({ command: 'echo "some output"; echo "first error" >&2; echo "tests failed: 3" >&2; exit 3' })
    const r = await ex.run(task, ctx, { cwd })
    assert.equal(r.ok, false)
    assert.equal(r.exitCode, 3)
    assert.match(r.reason ?? '', /^executor exit 3 after \d+ ms: first error\ntests failed: 3$/)
    assert.match(r.stdoutTail, /some output/)
  })

  it('uses the stdout tail as reason when stderr is empty', async () => {
    const r = await new Executor({ command: 'echo "nothing on stderr"; exit 1' }).run(task, ctx, { cwd })
    assert.match(r.reason ?? '', /exit 1 .*nothing on stderr/)
  })

  it('kills the whole process group on timeout', async () => {
    const ex = new Executor({ command: 'sleep 30 & echo $! > bg.pid; echo "progress 5 waiting"; wait', timeoutMs: 300, killGraceMs: 500 })
    const started = Date.now()
    const r = await ex.run(task, ctx, { cwd })
    assert.equal(r.ok, false)
    assert.equal(r.timedOut, true)
    assert.match(r.reason ?? '', /timed out after 300 ms/)
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`)
    const bg = Number(readFileSync(join(cwd, 'bg.pid'), 'utf8'))
    await waitFor(() => !alive(bg), `background sleep ${bg} to be killed with its group`, 5000)
  })

  it('stops promptly when aborted', async () => {
    const ac = new AbortController()
    const run = new Executor({ command: 'sleep 30' }).run(task, ctx, { cwd, signal: ac.signal })
    setTimeout(() => ac.abort(), 100)
    const r = await run
    assert.equal(r.aborted, true)
    assert.equal(r.ok, false)
    assert.ok(r.durationMs < 5000)
  })

  it('passes the task in FLEET_* variables, FLEET_TASK_REASON only when there is one', async () => {
    const cmd = 'printf "%s\\n" "$FLEET_TASK_ID" "$FLEET_TASK_TITLE" "$FLEET_BRANCH" "$FLEET_ATTEMPT" "${FLEET_TASK_REASON-unset}" "$FLEET_AGENT_ID" > env.txt; printf "%s" "$FLEET_TASK_JSON" > task.json; printf "%s" "$FLEET_TASK_DESCRIPTION" > desc.txt'
    // An inherited FLEET_TASK_REASON must not leak into a task that has none.
    const ex = new Executor({ command: cmd, env: { ...process.env, FLEET_TASK_REASON: 'stale from the parent' } })
    assert.equal((await ex.run(task, ctx, { cwd })).ok, true)
    assert.deepEqual(readFileSync(join(cwd, 'env.txt'), 'utf8').split('\n').slice(0, 6), ['T1.2', 'Add "quotes" & $vars', 'fleet/T1.2', '2', 'unset', 'A'])
    assert.deepEqual(JSON.parse(readFileSync(join(cwd, 'task.json'), 'utf8')), task)
    assert.equal(readFileSync(join(cwd, 'desc.txt'), 'utf8'), 'line one\nline two')

    assert.equal((await ex.run({ ...task, reason: 'ejected: merge conflict in a.txt' }, ctx, { cwd })).ok, true)
    assert.equal(readFileSync(join(cwd, 'env.txt'), 'utf8').split('\n')[4], 'ejected: merge conflict in a.txt')
  })

  it('reports a missing working directory as a failure, not a crash', async () => {
    const r = await new Executor({ command: 'true' }).run(task, ctx, { cwd: join(cwd, 'missing') })
    assert.equal(r.ok, false)
    assert.notEqual(r.spawnError, null)
  })

  it('runs the demo executor for "demo"', async () => {
    assert.ok(resolveExecutorCommand('demo').includes(DEMO_EXECUTOR_SCRIPT))
    assert.equal(resolveExecutorCommand('make test'), 'make test')
    const seen: number[] = []
    const r = await new Executor({ command: 'demo' }).run(task, ctx, { cwd, onProgress: (p) => seen.push(p.percent) })
    assert.equal(r.ok, true, r.reason ?? '')
    assert.deepEqual(seen, [10, 50, 100])
    const text = readFileSync(join(cwd, 'work', 'T1.2.md'), 'utf8')
    assert.match(text, /^# T1\.2: Add "quotes" & \$vars\n/)
    assert.match(text, /## Acceptance\n\nit works/)
    assert.ok(r.durationMs < 1000, `demo executor took ${r.durationMs} ms`)
  })
})

describe('progress lines', () => {
  it('parses percent and message, clamps, and ignores anything else', () => {
    assert.deepEqual(parseProgressLine('progress 42 running tests'), { percent: 42, message: 'running tests' })
    assert.deepEqual(parseProgressLine('progress 42%'), { percent: 42, message: null })
    assert.deepEqual(parseProgressLine('progress 150 over'), { percent: 100, message: 'over' })
    assert.deepEqual(parseProgressLine('progress -5'), { percent: 0, message: null })
    assert.equal(parseProgressLine('progress'), null)
    assert.equal(parseProgressLine('progress abc'), null)
    assert.equal(parseProgressLine('in progress 50'), null)
    assert.equal(parseProgressLine('progress50'), null)
  })
})
