import { z } from 'zod'
import type { TaskSpec } from '../crdt/schema.js'

/** Limits keep one imported plan from bloating the replicated document. */
export const MAX_ID_LENGTH = 64
export const MAX_TITLE_LENGTH = 300
export const MAX_DESCRIPTION_LENGTH = 20_000
export const MAX_ACCEPTANCE_LENGTH = 20_000
export const MAX_ESTIMATED_HOURS = 10_000
export const MAX_EPICS = 500
/** A plan of 100,000 tasks imports and replicates within the bench:scale targets (issue 11). */
export const MAX_TASKS = 100_000
export const MAX_DEPENDENCIES = 200

export const ID_PATTERN = /^[A-Za-z0-9._-]+$/
export const ROLE_PATTERN = /^[a-z][a-z0-9_-]*$/

export const IdSchema = z.string()
  .min(1, 'must not be empty')
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .regex(ID_PATTERN, 'must contain only letters, digits, ".", "_" and "-"')
  // Ids become keys of JavaScript objects; these names belong to every object already.
  .refine((id) => !(id in Object.prototype), 'is a reserved name (like "constructor" or "__proto__")')

export const RoleSchema = z.string()
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .regex(ROLE_PATTERN, 'must be a lowercase identifier like "backend" (a-z, 0-9, "_", "-", starting with a letter)')

const TitleSchema = z.string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_TITLE_LENGTH, `must be at most ${MAX_TITLE_LENGTH} characters`)

/**
 * How each content field of a task (crdt/schema.ts TaskSpec) is validated, without defaults or
 * nullability: the plan's task schema below and the API's task edits (node/services/tasks.ts)
 * are both built from these.
 */
export const TaskFieldSchemas = {
  title: TitleSchema,
  description: z.string().max(MAX_DESCRIPTION_LENGTH, `must be at most ${MAX_DESCRIPTION_LENGTH} characters`),
  estimatedHours: z.number()
    .positive('must be greater than 0')
    .max(MAX_ESTIMATED_HOURS, `must be at most ${MAX_ESTIMATED_HOURS}`),
  role: RoleSchema,
  dependsOn: z.array(IdSchema).max(MAX_DEPENDENCIES, `must list at most ${MAX_DEPENDENCIES} tasks`),
  priority: z.int('must be an integer'),
  acceptance: z.string().max(MAX_ACCEPTANCE_LENGTH, `must be at most ${MAX_ACCEPTANCE_LENGTH} characters`)
} as const

/** null is accepted as "absent" so documents exported from the replica (which store null) re-import. */
export const PlanEpicSchema = z.strictObject({
  id: IdSchema,
  title: TitleSchema,
  role: RoleSchema.nullish()
})

export const PlanTaskSchema = z.strictObject({
  id: IdSchema,
  epic: IdSchema,
  title: TaskFieldSchemas.title,
  description: TaskFieldSchemas.description.default(''),
  estimatedHours: TaskFieldSchemas.estimatedHours,
  role: TaskFieldSchemas.role.nullish(),
  dependsOn: TaskFieldSchemas.dependsOn.default([]),
  priority: TaskFieldSchemas.priority.default(0),
  acceptance: TaskFieldSchemas.acceptance.nullish()
})

export interface PlanEpic {
  id: string
  title: string
  role: string | null
}

/** A plan's task: an id, its epic, and the task fields a plan sets (role: its own, else its epic's, else null). */
export type PlanTask = { id: string, epic: string } & Pick<TaskSpec, 'title' | 'description' | 'estimatedHours' | 'role' | 'dependsOn' | 'priority' | 'acceptance'>

export interface Plan {
  id: string
  title: string
  epics: PlanEpic[]
  tasks: PlanTask[]
}

/**
 * The whole plan. At least one epic and one task are required: an empty plan is almost always a
 * parse gone wrong, and re-importing one would cancel every pending task.
 */
const PlanObjectSchema = z.strictObject({
  id: IdSchema,
  title: TitleSchema,
  epics: z.array(PlanEpicSchema)
    .min(1, 'must list at least one epic')
    .max(MAX_EPICS, `must list at most ${MAX_EPICS} epics`),
  tasks: z.array(PlanTaskSchema)
    .min(1, 'must list at least one task')
    .max(MAX_TASKS, `must list at most ${MAX_TASKS} tasks`)
})
export const PlanSchema = PlanObjectSchema.transform((raw): Plan => {
  const epics: PlanEpic[] = raw.epics.map((e) => ({ id: e.id, title: e.title, role: e.role ?? null }))
  const epicRole = new Map<string, string | null>()
  for (const e of epics) if (!epicRole.has(e.id)) epicRole.set(e.id, e.role)
  const tasks: PlanTask[] = raw.tasks.map((t) => ({
    ...t,
    role: t.role ?? epicRole.get(t.epic) ?? null,
    dependsOn: [...t.dependsOn],
    acceptance: t.acceptance ?? null
  }))
  return { id: raw.id, title: raw.title, epics, tasks }
})

/** What a plan file may contain, before defaults. */
export type PlanInput = z.input<typeof PlanSchema>

/** The keys a plan file may use at each level (for "did you mean" hints), read off the schemas. */
export const EPIC_FIELDS: readonly string[] = Object.keys(PlanEpicSchema.shape)
export const TASK_FIELDS: readonly string[] = Object.keys(PlanTaskSchema.shape)
export const PLAN_FIELDS: readonly string[] = Object.keys(PlanObjectSchema.shape)
