/** The availability rule lives with the other pure rules (crdt/rules); plan code keeps importing it from here. */
export { availableTasks, blockedReasons, urgency, planOrder, type UrgencyFields, type SchedTask, type SchedStatus, type AvailableOptions } from '../crdt/rules/availability.js'
