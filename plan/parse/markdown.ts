import type { RawProblem } from '../locate.js'
import type { PathSegment } from '../path.js'
import { didYouMean } from '../suggest.js'
import {
  compactTask, EPIC_KEY_NAMES, EPIC_KEYS, fieldBullet, normalizeKey, parseFieldValue, PLAN_KEY_NAMES,
  PLAN_KEYS, splitAttributes, TASK_KEY_NAMES, TASK_KEYS, type TaskField
} from './markdown-fields.js'
import { closesFence, dedent, indentOf, slug, stripClosingHashes, trimBlankLines, type Fence } from './markdown-text.js'
import { PathLines, stripBom, type ParsedSource } from './source.js'

/*
 * The Markdown plan form (documented in plan/FORMAT.md):
 *   # Plan: Title            the plan; an `id: x` line may follow (else the id is the title's slug)
 *   ## Epic E1: Title (role: backend)
 *   ### T1.1: Title (16h)    a task; `- key: value` bullets are fields, other text is its description
 *   - [T1.2] Title (8h, depends: T1.1)    a compact task; indented lines below it belong to it
 * Every H2 is an epic and every H3 under an epic is a task, so nothing is guessed from wording.
 */

interface FieldEntry {
  field: TaskField
  parts: string[]
  line: number
  /** Indentation of the bullet; deeper lines continue its value. */
  indent: number
}

interface TaskDraft {
  index: number
  line: number
  id: string | undefined
  epic: string | undefined
  title: string
  compact: boolean
  /** Compact tasks: indentation of their first body line, which body lines are measured from. */
  bodyIndent: number | undefined
  sawBlank: boolean
  fields: FieldEntry[]
  /** The entry still accepting indented continuation lines, or 'discard' after an unknown key. */
  open: FieldEntry | 'discard' | undefined
  description: string[]
}

interface EpicDraft {
  index: number
  line: number
  id: string | undefined
  title: string
  role?: { value: string, line: number }
  hasTasks: boolean
  /** The last task was a compact one: a top-level bullet now has to be another task. */
  inCompactList: boolean
}


const HEADING = /^(#{1,6})(?:[ \t]+(.*?))?[ \t]*$/
const EPIC_HEADING = /^(?:epic\s+)?([^\s:]+)\s*:\s*(.*)$/i
const TASK_HEADING = /^(?:task\s+)?(?:\[([^\]\s]+)\]\s*:?\s*|([^\s:[\]]+)\s*:\s*)(.*)$/i
const FENCE = /^\s*(`{3,}|~{3,})/
const PLAN_ID_LINE = /^id\s*:\s*(.+)$/i

/** Reads the Markdown plan form into a plan object plus the line of every part of it. */
export function parseMarkdownSource (input: string): ParsedSource {
  const reader = new MarkdownPlanReader()
  const lines = stripBom(input).split(/\r?\n/)
  lines.forEach((text, i) => { reader.line(text, i + 1) })
  return reader.finish()
}

class MarkdownPlanReader {
  private readonly lines = new PathLines()
  private readonly problems: RawProblem[] = []
  private title: { text: string, line: number } | undefined
  private id: { text: string, line: number } | undefined
  private section: 'preamble' | 'epic' = 'preamble'
  private readonly epics: EpicDraft[] = []
  private epic: EpicDraft | undefined
  private readonly tasks: TaskDraft[] = []
  private task: TaskDraft | undefined
  private fence: Fence | undefined

  line (text: string, no: number): void {
    if (this.fence !== undefined) {
      if (closesFence(text, this.fence)) this.fence = undefined
      this.body(text, no, true)
      return
    }
    const fence = FENCE.exec(text)
    if (fence !== null) {
      this.fence = { marker: fence[1] as string }
      this.body(text, no, true)
      return
    }
    const heading = HEADING.exec(text)
    if (heading !== null) {
      this.heading((heading[1] as string).length, stripClosingHashes(heading[2] ?? ''), text, no)
      return
    }
    const compact = compactTask(text)
    if (compact !== undefined) {
      this.startTask(compact.id, compact.rest, no, true)
      return
    }
    this.body(text, no, false)
  }

  finish (): ParsedSource {
    this.closeTask()
    const value: Record<string, unknown> = {}
    if (this.title === undefined) {
      this.problems.push({ path: ['title'], line: 1, message: 'missing plan title: start the file with "# Plan: <title>"' })
    } else {
      value.title = this.title.text
      this.lines.set(['title'], this.title.line)
    }
    const id = this.id?.text ?? slug(this.title?.text ?? '')
    if (id !== '') value.id = id
    else if (this.title !== undefined) this.problems.push({ path: ['id'], line: this.title.line, message: 'missing plan id: add an "id: <id>" line under the title' })
    this.lines.set(['id'], this.id?.line ?? this.title?.line ?? 1)
    value.epics = this.epics.map((e) => this.epicValue(e))
    value.tasks = this.tasks.map((t) => this.taskValue(t))
    if (this.epics[0] !== undefined) this.lines.set(['epics'], this.epics[0].line)
    if (this.tasks[0] !== undefined) this.lines.set(['tasks'], this.tasks[0].line)
    this.lines.set([], this.title?.line ?? 1)
    return { value, lineOf: this.lines.lineOf, problems: this.problems }
  }

  private heading (level: number, text: string, raw: string, no: number): void {
    if (level >= 4) {
      // Below task level: part of a task's description, or a note outside tasks.
      if (this.task !== undefined && !this.task.compact) this.task.description.push(raw)
      else this.closeTask()
      return
    }
    this.closeTask()
    if (level === 1) this.planHeading(text, no)
    else if (level === 2) this.epicHeading(text, no)
    else this.taskHeading(text, no)
  }

  private planHeading (text: string, no: number): void {
    if (this.title !== undefined) {
      this.problems.push({ path: ['title'], line: no, message: `a plan has one "# " title; this is a second one (the first is at line ${this.title.line})` })
      return
    }
    this.title = { text: text.replace(/^plan\s*:\s*/i, ''), line: no }
  }

  private epicHeading (text: string, no: number): void {
    this.section = 'epic'
    const draft: EpicDraft = { index: this.epics.length, line: no, id: undefined, title: text, hasTasks: false, inCompactList: false }
    this.epics.push(draft)
    this.epic = draft
    const m = EPIC_HEADING.exec(text)
    if (m === null || (m[1] as string).toLowerCase() === 'epic') {
      this.problems.push({ path: ['epics', draft.index, 'id'], line: no, message: `an epic heading needs an id: "## Epic E1: Title", not "## ${text}"` })
      return
    }
    draft.id = m[1] as string
    const { title, attributes } = splitAttributes(m[2] as string)
    draft.title = title
    for (const a of attributes) this.epicField(draft, a.key, a.value, no)
  }

  private taskHeading (text: string, no: number): void {
    const m = TASK_HEADING.exec(text)
    if (m === null) {
      const draft = this.startTask(undefined, text, no, false)
      this.problems.push({ path: ['tasks', draft.index, 'id'], line: no, message: `a task heading needs an id: "### T1.1: Title", not "### ${text}"` })
      return
    }
    this.startTask((m[1] ?? m[2]) as string, m[3] as string, no, false)
  }

  private startTask (id: string | undefined, rest: string, no: number, compact: boolean): TaskDraft {
    this.closeTask()
    const { title, attributes } = id === undefined ? { title: rest, attributes: [] } : splitAttributes(rest)
    const draft: TaskDraft = {
      index: this.tasks.length,
      line: no,
      id,
      epic: this.section === 'epic' ? this.epic?.id : undefined,
      title,
      compact,
      bodyIndent: undefined,
      sawBlank: false,
      fields: [],
      open: undefined,
      description: []
    }
    this.tasks.push(draft)
    this.task = draft
    if (this.section !== 'epic') {
      this.problems.push({ path: ['tasks', draft.index, 'epic'], line: no, message: 'is missing: tasks go under an epic heading ("## Epic E1: Title")' })
    } else if (this.epic !== undefined) {
      this.epic.hasTasks = true
      this.epic.inCompactList = compact
    }
    for (const a of attributes) this.taskField(draft, a.key, a.value, no, 0)
    draft.open = undefined
    return draft
  }

  private closeTask (): void {
    this.task = undefined
  }

  /** A line that is not a heading or a compact task: task body, or a field/note outside tasks. */
  private body (text: string, no: number, fenced: boolean): void {
    const task = this.task
    if (task !== undefined && !task.compact) {
      this.taskBody(task, text, no, indentOf(text), fenced)
      return
    }
    if (task !== undefined) {
      if (this.compactBody(task, text, no, fenced)) return
      this.closeTask()
    }
    if (fenced || text.trim() === '') return
    this.outsideTask(text, no)
  }

  /** Whether the line belongs to the compact task: indented, or a lazy continuation of its text. */
  private compactBody (task: TaskDraft, text: string, no: number, fenced: boolean): boolean {
    const indent = indentOf(text)
    if (text.trim() === '') {
      task.sawBlank = true
      task.open = undefined
      task.description.push('')
      return true
    }
    if (indent >= 2) {
      task.bodyIndent ??= indent
      const rel = Math.max(0, indent - task.bodyIndent)
      this.taskBody(task, dedent(text, task.bodyIndent), no, rel, fenced)
      return true
    }
    // CommonMark's lazy continuation: an unindented line straight after the item's text.
    if (!task.sawBlank && !fenced && fieldBullet(text) === undefined && !/^\s*(?:[-*+]|\d{1,9}[.)])\s/.test(text)) {
      task.open = undefined
      task.description.push(text)
      return true
    }
    return false
  }

  private taskBody (task: TaskDraft, text: string, no: number, indent: number, fenced: boolean): void {
    if (fenced) {
      task.open = undefined
      task.description.push(text)
      return
    }
    if (text.trim() === '') {
      task.open = undefined
      task.description.push('')
      return
    }
    const open = task.open
    if (open !== undefined && indent > (open === 'discard' ? 0 : open.indent)) {
      if (open !== 'discard') open.parts.push(text.trim())
      return
    }
    task.open = undefined
    const field = indent <= 1 ? fieldBullet(text) : undefined
    if (field !== undefined) {
      task.open = this.taskField(task, field.key, field.value, no, indent)
      return
    }
    task.description.push(text)
  }

  /** Records a task field; returns the entry that continuation lines extend. */
  private taskField (task: TaskDraft, key: string, value: string, no: number, indent: number): FieldEntry | 'discard' {
    const field = TASK_KEYS[normalizeKey(key)]
    if (field === undefined) {
      this.problems.push({
        path: ['tasks', task.index, key],
        line: no,
        message: `unknown field "${key}"${didYouMean(key, TASK_KEY_NAMES)}; task fields are ${TASK_KEY_NAMES.join(', ')}`
      })
      return 'discard'
    }
    const earlier = task.fields.find((f) => f.field === field)
    if (earlier !== undefined) {
      this.problems.push({ path: ['tasks', task.index, field], line: no, message: `is given twice (first at line ${earlier.line})` })
      return 'discard'
    }
    const entry: FieldEntry = { field, parts: value === '' ? [] : [value], line: no, indent }
    task.fields.push(entry)
    return entry
  }

  private outsideTask (text: string, no: number): void {
    const field = fieldBullet(text)
    const plainId = this.section === 'preamble' ? PLAN_ID_LINE.exec(text) : null
    const epic = this.epic
    if (this.section === 'epic' && epic !== undefined && epic.hasTasks) {
      // After tasks, a stray field or list item is almost surely meant for the task above.
      if (field !== undefined) {
        this.problems.push({ path: ['epics', epic.index], line: no, message: `field "${field.key}" follows a task but is not part of it: indent it under the task, or put it in the task's heading` })
      } else if (epic.inCompactList && /^(?:[-*+]|\d{1,9}[.)])\s/.test(text)) {
        this.problems.push({ path: ['epics', epic.index], line: no, message: 'a list item among compact tasks must be a task: "- [T1.2] Title (8h)"' })
      }
      return
    }
    if (this.section === 'epic' && epic !== undefined) {
      if (field !== undefined) this.epicField(epic, field.key, field.value, no)
      return
    }
    if (field !== undefined) this.planField(field.key, field.value, no)
    else if (plainId !== null) this.planField('id', plainId[1] as string, no)
  }

  private planField (key: string, value: string, no: number): void {
    if (PLAN_KEYS[normalizeKey(key)] === undefined) {
      this.problems.push({ path: [key], line: no, message: `unknown plan field "${key}"${didYouMean(key, PLAN_KEY_NAMES)}; the plan field is ${PLAN_KEY_NAMES.join(', ')}` })
      return
    }
    if (this.id !== undefined) {
      this.problems.push({ path: ['id'], line: no, message: `is given twice (first at line ${this.id.line})` })
      return
    }
    const parsed = parseFieldValue('id', value)
    if (parsed.problem !== undefined) this.problems.push({ path: ['id'], line: no, message: parsed.problem })
    this.id = { text: String(parsed.value), line: no }
  }

  private epicField (epic: EpicDraft, key: string, value: string, no: number): void {
    if (EPIC_KEYS[normalizeKey(key)] === undefined) {
      this.problems.push({ path: ['epics', epic.index, key], line: no, message: `unknown epic field "${key}"${didYouMean(key, EPIC_KEY_NAMES)}; the epic field is ${EPIC_KEY_NAMES.join(', ')}` })
      return
    }
    if (epic.role !== undefined) {
      this.problems.push({ path: ['epics', epic.index, 'role'], line: no, message: `is given twice (first at line ${epic.role.line})` })
      return
    }
    const parsed = parseFieldValue('role', value)
    if (parsed.problem !== undefined) this.problems.push({ path: ['epics', epic.index, 'role'], line: no, message: parsed.problem })
    epic.role = { value: String(parsed.value), line: no }
  }

  private epicValue (e: EpicDraft): Record<string, unknown> {
    const path: PathSegment[] = ['epics', e.index]
    const out: Record<string, unknown> = { title: e.title }
    if (e.id !== undefined) out.id = e.id
    if (e.role !== undefined) {
      out.role = e.role.value
      this.lines.set([...path, 'role'], e.role.line)
    }
    this.lines.set(path, e.line)
    return out
  }

  private taskValue (t: TaskDraft): Record<string, unknown> {
    const path: PathSegment[] = ['tasks', t.index]
    this.lines.set(path, t.line)
    const out: Record<string, unknown> = { title: t.title }
    if (t.id !== undefined) out.id = t.id
    if (t.epic !== undefined) out.epic = t.epic
    let description: string | undefined
    for (const f of t.fields) {
      const text = f.parts.join(f.field === 'dependsOn' ? ', ' : '\n')
      const parsed = parseFieldValue(f.field, text)
      if (parsed.problem !== undefined) this.problems.push({ path: [...path, f.field], line: f.line, message: parsed.problem })
      this.lines.set([...path, f.field], f.line)
      if (f.field === 'description') description = String(parsed.value)
      else out[f.field] = parsed.value
    }
    const text = trimBlankLines(t.description)
    out.description = [description, text].filter((s) => s !== undefined && s !== '').join('\n\n')
    return out
  }
}
