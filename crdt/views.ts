import { read, readOpt, type DocTask } from './schema.js'

/** The JSON shape of a task as the API returns it (before claims are folded in). */
export interface TaskView {
  id: string
  title: string
  epic: string | null
  description: string
  estimatedHours: number
  role: string | null
  dependsOn: string[]
  priority: number
  acceptance: string | null
  order: number
  status: string
  attempt: number
  reason: string | null
  source: string
  createdAt: number
  updatedAt: number
}

export function taskView (t: DocTask): TaskView {
  return {
    id: read(t.id),
    title: read(t.title),
    epic: readOpt(t.epic),
    description: read(t.description),
    estimatedHours: t.estimatedHours,
    role: readOpt(t.role),
    dependsOn: t.dependsOn.map(read),
    priority: t.priority,
    acceptance: readOpt(t.acceptance),
    order: t.order,
    status: read(t.status),
    attempt: t.attempt,
    reason: readOpt(t.reason),
    source: read(t.source),
    createdAt: t.createdAt,
    updatedAt: t.updatedAt
  }
}
