// The graph algorithms moved to lib/graph.ts (crdt/rules uses them too, and crdt must not import plan).
export { cycleThrough, findCycle, stronglyConnected } from '../lib/graph.js'
