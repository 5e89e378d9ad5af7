/** Sum of the samples in a node's /metrics whose line starts with `prefix` (a name, or a name with labels). */
export async function metricSum (nodeUrl: string, prefix: string): Promise<number> {
  return sumOfSamples(await (await fetch(nodeUrl + '/metrics')).text(), prefix)
}

/** The same over a /metrics text already fetched. */
export function sumOfSamples (text: string, prefix: string): number {
  let sum = 0
  for (const l of text.split('\n')) if (l.startsWith(prefix)) sum += Number(l.slice(l.lastIndexOf(' ') + 1))
  return sum
}

/** Members a node holds live (fleet_peer_in_sync has one sample per live member). */
export async function liveMembers (nodeUrl: string): Promise<number> {
  return (await liveMemberIds(nodeUrl)).length
}

/** The ids of the members a node holds live (the peer label of its fleet_peer_in_sync samples). */
export async function liveMemberIds (nodeUrl: string): Promise<string[]> {
  const text = await (await fetch(nodeUrl + '/metrics')).text()
  const out: string[] = []
  for (const l of text.split('\n')) {
    const m = /^fleet_peer_in_sync\{peer="([^"]+)"\}/.exec(l)
    if (m !== null) out.push(m[1] as string)
  }
  return out
}
