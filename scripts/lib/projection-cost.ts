import * as A from '@automerge/automerge'
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { percentile } from './stats.js'

/**
 * In-process cost of keeping the projection up to date after one write, for a build's dist
 * directory (this one, or a baseline's): a document of N tasks, then sequential writes (a new
 * task, a claim of it), each followed by the projection read every HTTP answer does. Timing one
 * process's own work this way is far less disturbed by other load than HTTP round trips.
 */

interface Build {
  genesis: (actor?: string) => A.Doc<any> // eslint-disable-line @typescript-eslint/no-explicit-any -- two builds' document types
  ProjectionCache: new (docOf: () => A.Doc<any>) => { notePatches: (p: A.Patch[]) => void, get: () => unknown } // eslint-disable-line @typescript-eslint/no-explicit-any
  writeTaskSpec: (d: any, id: string, spec: unknown) => void // eslint-disable-line @typescript-eslint/no-explicit-any
  writeTaskState: (d: any, id: string, f: object) => void // eslint-disable-line @typescript-eslint/no-explicit-any
  putIn: (coll: any, id: string, v: unknown) => void // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function load (distRoot: string): Promise<Build> {
  const at = async (p: string): Promise<Record<string, unknown>> => await import(pathToFileURL(join(distRoot, p)).href) as Record<string, unknown>
  const [schema, projection, records, collections] = await Promise.all([at('crdt/schema.js'), at('crdt/projection.js'), at('crdt/task-records.js'), at('crdt/collections.js')])
  return { genesis: schema.genesis, ProjectionCache: projection.ProjectionCache, writeTaskSpec: records.writeTaskSpec, writeTaskState: records.writeTaskState, putIn: collections.putIn } as Build
}

function spec (i: number, order: number): object {
  return { title: `task ${i}`, epic: `E${i % 20}`, description: 'generated', estimatedHours: 1 + (i % 16), role: i % 2 === 0 ? 'backend' : null, dependsOn: i % 500 === 0 ? [] : [`T${i - 1}`], priority: i % 5, acceptance: null, order, source: 'plan', createdAt: 1 }
}

export interface ProjectionCost { p50: number, p99: number, rebuildMs: number }

export async function projectionCost (distRoot: string, tasks: number, writes: number): Promise<ProjectionCost> {
  const b = await load(distRoot)
  let doc = b.genesis()
  doc = A.change(doc, (d) => { for (let i = 0; i < tasks; i++) b.writeTaskSpec(d, `T${i}`, spec(i, i)) })
  const t0 = performance.now()
  const cache = new b.ProjectionCache(() => doc)
  cache.get()
  const rebuildMs = performance.now() - t0
  const times: number[] = []
  const step = (f: (d: any) => void): void => { // eslint-disable-line @typescript-eslint/no-explicit-any
    let patches: A.Patch[] = []
    doc = A.change(doc, { patchCallback: (p) => { patches = p } }, f)
    const s = performance.now()
    cache.notePatches(patches)
    cache.get()
    times.push(performance.now() - s)
  }
  for (let k = 0; k < writes; k++) {
    const id = `new-${k}`
    step((d) => { b.writeTaskSpec(d, id, { ...spec(k, tasks + k), dependsOn: [] }); b.writeTaskState(d, id, { updatedAt: 1 }) })
    step((d) => { b.putIn(d.assignments, `a-${k}`, { id: new A.ImmutableString(`a-${k}`), taskId: new A.ImmutableString(id), agentId: new A.ImmutableString('agent'), nodeId: new A.ImmutableString('node'), attempt: 0, clock: 1, claimedAt: 1, confirmedAt: null, state: new A.ImmutableString('active'), progress: 0, message: null, summary: null, endedAt: null, reason: null }) })
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99), rebuildMs }
}
