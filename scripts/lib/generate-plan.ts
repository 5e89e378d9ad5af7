/**
 * A generated plan for benchmarks: 20 epics, one role each (7 roles), tasks of 1-16 h, each task
 * depending on the one before it in its epic and every third also on one halfway back.
 */
/** Epics of a generated plan; each is one role's stream of dependent tasks. */
export const GENERATED_EPICS = 20
export const GENERATED_ROLES = ['backend', 'frontend', 'schemas', 'facilities', 'incidents', 'remaining', 'routes']

export function generatePlan (tasks: number): object {
  const perEpic = Math.ceil(tasks / GENERATED_EPICS)
  const epics = Array.from({ length: GENERATED_EPICS }, (_, e) => ({ id: `E${e + 1}`, title: `Epic ${e + 1}: generated work stream`, role: GENERATED_ROLES[e % GENERATED_ROLES.length] }))
  const list = Array.from({ length: tasks }, (_, i) => {
    const e = Math.floor(i / perEpic)
    const k = i % perEpic
    const deps = k === 0 ? [] : k % 3 === 0 ? [`T${e + 1}.${k - 1}`, `T${e + 1}.${Math.floor(k / 2)}`] : [`T${e + 1}.${k - 1}`]
    return {
      id: `T${e + 1}.${k}`,
      epic: `E${e + 1}`,
      title: `Generated task ${i}: refactor module ${k} of stream ${e + 1}`,
      description: `Bring module ${k} in line with the remediation guidelines; keep behaviour, add tests.`,
      estimatedHours: 1 + (i % 16),
      dependsOn: [...new Set(deps)],
      priority: i % 5
    }
  })
  return { id: 'generated', title: `Generated plan of ${tasks} tasks`, epics, tasks: list }
}

