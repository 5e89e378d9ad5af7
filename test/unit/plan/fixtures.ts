import type { Plan } from '../../../plan/index.js'

/** One small plan written in every supported form; each must parse to SMALL_PLAN. */
export const SMALL_PLAN: Plan = {
  id: 'small',
  title: 'Small plan',
  epics: [
    { id: 'E1', title: 'Backend', role: 'backend' },
    { id: 'E2', title: 'Frontend', role: null }
  ],
  tasks: [
    {
      id: 'T1.1',
      epic: 'E1',
      title: 'Add request validation',
      description: 'Validate every body.\n\nReject unknown fields.',
      estimatedHours: 16,
      role: 'backend',
      dependsOn: [],
      priority: 2,
      acceptance: 'Bad bodies get 400'
    },
    {
      id: 'T1.2',
      epic: 'E1',
      title: 'Add auth',
      description: '',
      estimatedHours: 8,
      role: 'schemas',
      dependsOn: ['T1.1'],
      priority: 0,
      acceptance: null
    },
    {
      id: 'T2.1',
      epic: 'E2',
      title: 'Typed client',
      description: '',
      estimatedHours: 4.5,
      role: 'frontend',
      dependsOn: ['T1.1', 'T1.2'],
      priority: -1,
      acceptance: null
    },
    {
      id: 'T2.2',
      epic: 'E2',
      title: 'Docs',
      description: '',
      estimatedHours: 2,
      role: null,
      dependsOn: [],
      priority: 0,
      acceptance: null
    }
  ]
}

export const SMALL_JSON = `{
  "id": "small",
  "title": "Small plan",
  "epics": [
    { "id": "E1", "title": "Backend", "role": "backend" },
    { "id": "E2", "title": "Frontend" }
  ],
  "tasks": [
    {
      "id": "T1.1", "epic": "E1", "title": "Add request validation",
      "description": "Validate every body.\\n\\nReject unknown fields.",
      "estimatedHours": 16, "priority": 2, "acceptance": "Bad bodies get 400", "dependsOn": []
    },
    { "id": "T1.2", "epic": "E1", "title": "Add auth", "estimatedHours": 8, "role": "schemas", "dependsOn": ["T1.1"] },
    { "id": "T2.1", "epic": "E2", "title": "Typed client", "estimatedHours": 4.5, "role": "frontend", "dependsOn": ["T1.1", "T1.2"], "priority": -1 },
    { "id": "T2.2", "epic": "E2", "title": "Docs", "estimatedHours": 2 }
  ]
}
`

export const SMALL_YAML = `# a comment, as YAML files often start
id: small
title: Small plan
epics:
  - id: E1
    title: Backend
    role: backend
  - id: E2
    title: Frontend
tasks:
  - id: "T1.1"
    epic: E1
    title: Add request validation
    description: |-
      Validate every body.

      Reject unknown fields.
    estimatedHours: 16
    priority: 2
    acceptance: Bad bodies get 400
  - id: "T1.2"
    epic: E1
    title: Add auth
    estimatedHours: 8
    role: schemas
    dependsOn: ["T1.1"]
  - id: "T2.1"
    epic: E2
    title: Typed client
    estimatedHours: 4.5
    role: frontend
    dependsOn: ["T1.1", "T1.2"]
    priority: -1
  - id: "T2.2"
    epic: E2
    title: Docs
    estimatedHours: 2
`

export const SMALL_MARKDOWN = `# Plan: Small plan
id: small

Some words about the plan, ignored.

## Epic E1: Backend (role: backend)

### T1.1: Add request validation
- hours: 16
- priority: 2
- acceptance: Bad bodies get 400

Validate every body.

Reject unknown fields.

### T1.2: Add auth (8h, role: schemas)
- depends: T1.1

## E2: Frontend

### Task T2.1: Typed client
- Hours: 4.5h
- role: frontend
- depends on: T1.1, T1.2
- priority: -1

### [T2.2] Docs
- hours: 2
- deps: none
`

/** The same plan with the compact list-item form. */
export const SMALL_MARKDOWN_COMPACT = `# Small plan

- id: small

## Epic E1: Backend
- role: backend

- [T1.1] Add request validation (16h, priority: 2, acceptance: Bad bodies get 400)
  Validate every body.

  Reject unknown fields.
- [T1.2] Add auth (8 hours, role: schemas, depends: T1.1)

## Epic E2: Frontend

- [T2.1] Typed client (4.5h, role: frontend, depends: T1.1, T1.2, priority: -1)
- [T2.2]: Docs
  - hours: 2
`
