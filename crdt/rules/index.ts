/** Pure domain rules: no I/O and no clock reads; time is always a parameter. */
export * from './errors.js'
export * from './claims.js'
export * from './leases.js'
export * from './leader.js'
export * from './availability.js'
export * from './blocking.js'
export * from './alerts.js'
export * from './analytics.js'
