export type PlanFormat = 'json' | 'yaml' | 'markdown'

export const PLAN_FORMATS: readonly PlanFormat[] = ['json', 'yaml', 'markdown']

const BY_EXTENSION: Readonly<Record<string, PlanFormat>> = {
  '.json': 'json',
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.md': 'markdown',
  '.markdown': 'markdown'
}

/** The format a file name implies, or undefined for an unknown extension. */
export function formatFromFileName (file: string): PlanFormat | undefined {
  const m = /\.[A-Za-z]+$/.exec(file)
  return m === null ? undefined : BY_EXTENSION[m[0].toLowerCase()]
}

/**
 * Guesses the format of unnamed text (an HTTP body, stdin). A YAML comment and a Markdown title both
 * start with "#", so YAML is recognised by its top-level plan keys and Markdown by its headings.
 */
export function sniffFormat (text: string): PlanFormat {
  const t = text.replace(/^\uFEFF/, '').trimStart()
  if (t.startsWith('{') || t.startsWith('[')) return 'json'
  const hasYamlKeys = /^(?:epics|tasks)\s*:/m.test(t)
  const hasSubHeadings = /^#{2,3}[ \t]+\S/m.test(t)
  if (hasYamlKeys && !hasSubHeadings) return 'yaml'
  if (/^#{1,3}[ \t]+\S/m.test(t)) return 'markdown'
  return 'yaml'
}
