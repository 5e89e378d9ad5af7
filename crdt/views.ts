import type { TaskRecord } from './task-records.js'

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

export function taskView (t: TaskRecord): TaskView {
  return {
    id: t.id,
    title: t.title,
    epic: t.epic,
    description: t.description,
    estimatedHours: t.estimatedHours,
    role: t.role,
    dependsOn: [...t.dependsOn],
    priority: t.priority,
    acceptance: t.acceptance,
    order: t.order,
    status: t.status,
    attempt: t.attempt,
    reason: t.reason,
    source: t.source,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt === 0 ? t.createdAt : t.updatedAt
  }
}
