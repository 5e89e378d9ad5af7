export { PlanValidationError, formatProblem, type PlanProblem } from './errors.js'
export {
  PlanSchema, PlanEpicSchema, PlanTaskSchema, IdSchema, RoleSchema, ID_PATTERN, ROLE_PATTERN,
  MAX_ID_LENGTH, MAX_TITLE_LENGTH, MAX_DESCRIPTION_LENGTH, MAX_ACCEPTANCE_LENGTH, MAX_ESTIMATED_HOURS,
  MAX_EPICS, MAX_TASKS, MAX_DEPENDENCIES,
  type Plan, type PlanEpic, type PlanTask, type PlanInput
} from './schema.js'
export { parsePlan, parsePlanValue, readPlanFile, type ParsePlanOptions } from './load.js'
export { formatFromFileName, sniffFormat, PLAN_FORMATS, type PlanFormat } from './detect.js'
export { validatePlan } from './validate.js'
export { availableTasks, blockedReasons, urgency, planOrder, type UrgencyFields, type SchedTask, type SchedStatus, type AvailableOptions } from './availability.js'
export { downstreamHours, longestChains, criticalPath, lowerBoundHours, type DagTask, type CriticalPath, type RoleLoad } from './critical-path.js'
export { simulate, type SimTask, type SimAgent, type SimOrdering, type SimulateInit, type SimResult } from './simulate.js'
export { forecastOf, remainingOf, DEFAULT_FORECAST_RUNS, type Forecast, type ForecastInit, type Blocker } from './forecast.js'
export { mulberry32, type Random } from './prng.js'
export {
  planImportOps, planEpicOps,
  type ImportOp, type EpicOp, type ExistingTask, type ExistingEpic, type PlanTaskRecord, type PlanEpicRecord, type PlanTaskFields
} from './revision.js'
export { planDigest, canonicalJson } from './digest.js'
export { importSteps, type ImportStep } from './import-steps.js'
