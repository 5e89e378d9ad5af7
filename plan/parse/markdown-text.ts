// Line-level text helpers of the Markdown plan reader (markdown.ts): fences, indentation, slugs.

/** An open code fence: its marker (``` or ~~~, at least three). */
export interface Fence { marker: string }

export function closesFence (text: string, fence: Fence): boolean {
  const t = text.trim()
  return t.length >= fence.marker.length && t === (fence.marker[0] as string).repeat(t.length)
}

export function stripClosingHashes (text: string): string {
  return text.replace(/\s+#+$/, '').trim()
}

export function indentOf (text: string): number {
  let n = 0
  for (const c of text) {
    if (c === ' ') n++
    else if (c === '\t') n += 4 - (n % 4)
    else break
  }
  return n
}

export function dedent (text: string, by: number): string {
  let i = 0
  let n = 0
  while (i < text.length && n < by && (text[i] === ' ' || text[i] === '\t')) {
    n += text[i] === '\t' ? 4 - (n % 4) : 1
    i++
  }
  return text.slice(i)
}

export function trimBlankLines (lines: string[]): string {
  let start = 0
  let end = lines.length
  while (start < end && (lines[start] as string).trim() === '') start++
  while (end > start && (lines[end - 1] as string).trim() === '') end--
  return lines.slice(start, end).map((l) => l.trimEnd()).join('\n')
}

/** A plan id from its title, for plans that do not give one. */
export function slug (title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64).replace(/-+$/, '')
}
