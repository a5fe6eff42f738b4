/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and summarises self time by function and by
 * package, so a missed target comes with the place the time goes.
 */
import { readFileSync } from "node:fs"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly hitCount?: number
}
interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples?: ReadonlyArray<number>
}

/** Where a script URL belongs: an npm package, a workspace package, node internals. */
export const owner = (url: string): string => {
  if (url === "") return "(native/gc/idle)"
  if (url.startsWith("node:")) return "node:internal"
  // Workload bundles (sfbulk client + harness code, see build.ts).
  if (url.includes("/.build/")) return `bundle:${url.slice(url.lastIndexOf("/") + 1)}`
  const nm = url.lastIndexOf("/node_modules/")
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/")
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  const ws = /\/packages\/([^/]+)\//.exec(url)
  if (ws) return `@sfbulk/${ws[1]}`
  return url.split("/").slice(-2).join("/")
}

/** Top functions and packages by self time. */
export const summarize = (file: string, top = 20): string => {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile
  const totalHits = p.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1
  const totalMs = (p.endTime - p.startTime) / 1000
  const byFn = new Map<string, number>()
  const byPkg = new Map<string, number>()
  for (const n of p.nodes) {
    const h = n.hitCount ?? 0
    if (h === 0) continue
    const f = n.callFrame
    const key = `${f.functionName || "(anonymous)"} ${owner(f.url)}:${f.lineNumber + 1}`
    byFn.set(key, (byFn.get(key) ?? 0) + h)
    byPkg.set(owner(f.url), (byPkg.get(owner(f.url)) ?? 0) + h)
  }
  const fmt = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, h]) =>
        `  ${((100 * h) / totalHits).toFixed(1).padStart(5)}%  ${Math.round((h / totalHits) * totalMs).toString().padStart(6)} ms  ${k}`
      )
      .join("\n")
  return `profile ${file} (${Math.round(totalMs)} ms sampled)\nby package:\n${fmt(byPkg)}\nby function (self time):\n${fmt(byFn)}\n`
}
