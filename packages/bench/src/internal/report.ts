/**
 * Turning measured runs into `results.json` rows, `RESULTS.md` tables and the SVG chart. Pure
 * functions (no I/O), so they are unit-tested.
 */
import type { ClientName, WorkloadName } from "./spec.js"

/** One measured process run. */
export interface Run {
  readonly ok: boolean
  readonly wallMs: number
  readonly workMs: number
  readonly cpuMs: number
  readonly peakRssMb: number
  readonly rows: number
  /** Peak V8 heap and peak memory outside it, MB (sampled in the client every 100 ms). */
  readonly peakHeapTotalMb?: number
  readonly peakExternalMb?: number
  /** CPU the emulator process spent during this run, ms (where measurable). */
  readonly emulatorCpuMs?: number
  /** Requests the org counted during this run (its DailyApiRequests usage), every client alike. */
  readonly apiRequests?: number
  /** Contention runs: rows whose final outcome is still UNABLE_TO_LOCK_ROW. */
  readonly lockFailuresLeft?: number
  readonly detail?: string
}

/** A figure's median, min and max over the passing runs. */
export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
}

/** One `results.json` object. */
export interface ResultRow {
  readonly workload: WorkloadName
  readonly client: ClientName
  readonly rows: number
  /** The emulator's processing model (absent in results from before it existed: loopback). */
  readonly profile?: "loopback" | "realistic"
  /** Median API requests per run, as the org counted them. */
  readonly apiRequests?: number
  /**
   * Realistic runs: the server-bound limit, ms: the emulator's own processing time for this work
   * at full parallelism (the wall time no client can beat).
   */
  readonly limitMs?: number
  /** Contention runs: rows whose final outcome is still UNABLE_TO_LOCK_ROW. */
  readonly lockFailuresLeft?: number
  /** Every run passed its correctness check. */
  readonly ok: boolean
  /** Medians over passing runs (null when none passed). */
  readonly wallMs: number | null
  readonly cpuMs: number | null
  readonly peakRssMb: number | null
  readonly min: { readonly wallMs: number; readonly cpuMs: number; readonly peakRssMb: number } | null
  readonly max: { readonly wallMs: number; readonly cpuMs: number; readonly peakRssMb: number } | null
  /** Median CPU the emulator process spent per run (ms), to show when the server is the bottleneck. */
  readonly emulatorCpuMs?: number
  /** The command that measured this cell (results of several runs can be merged). */
  readonly command?: string
  /** Why the cell has no number, or what differs about how this client ran the workload. */
  readonly note?: string
  readonly runs: ReadonlyArray<Run>
}

/** Median (mean of the middle two for an even count). */
export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits

/** Aggregate the runs of one (workload, client, rows) cell. */
export const aggregate = (
  workload: WorkloadName,
  client: ClientName,
  rows: number,
  runs: ReadonlyArray<Run>,
  note?: string
): ResultRow => {
  const ok = runs.length > 0 && runs.every((r) => r.ok)
  const good = runs.filter((r) => r.ok)
  const pick = (f: (r: Run) => number, g: (xs: ReadonlyArray<number>) => number) => round(g(good.map(f)))
  const stat = (g: (xs: ReadonlyArray<number>) => number) => ({
    wallMs: pick((r) => r.wallMs, g),
    cpuMs: pick((r) => r.cpuMs, g),
    peakRssMb: pick((r) => r.peakRssMb, g)
  })
  const failNote = runs.find((r) => !r.ok)?.detail
  const notes = [note, ok ? undefined : `failed: ${failNote ?? "no run completed"}`].filter((x) => x !== undefined)
  const emuCpu = good.flatMap((r) => (r.emulatorCpuMs === undefined ? [] : [r.emulatorCpuMs]))
  const requests = good.flatMap((r) => (r.apiRequests === undefined ? [] : [r.apiRequests]))
  return {
    workload,
    client,
    rows,
    ok,
    ...(ok && requests.length > 0 ? { apiRequests: round(median(requests)) } : {}),
    ...(ok && good.some((r) => r.lockFailuresLeft !== undefined)
      ? { lockFailuresLeft: Math.max(...good.map((r) => r.lockFailuresLeft ?? 0)) }
      : {}),
    ...(ok && emuCpu.length > 0 ? { emulatorCpuMs: round(median(emuCpu)) } : {}),
    wallMs: ok ? stat(median).wallMs : null,
    cpuMs: ok ? stat(median).cpuMs : null,
    peakRssMb: ok ? stat(median).peakRssMb : null,
    min: ok ? stat((xs) => Math.min(...xs)) : null,
    max: ok ? stat((xs) => Math.max(...xs)) : null,
    ...(notes.length > 0 ? { note: notes.join("; ") } : {}),
    runs
  }
}

/** Where jsforce's figure for a workload comes from (it has no parallel page download). */
export const jsforceCounterpart = (w: WorkloadName): WorkloadName => (w === "query-2.0-parallel" ? "query-2.0" : w)

const find = (rs: ReadonlyArray<ResultRow>, w: WorkloadName, c: ClientName, rows: number) =>
  rs.find((r) => r.workload === w && r.client === c && r.rows === rows)

/** Ratios for one sfbulk cell: throughput vs jsforce (jsforce wall / sfbulk wall), CPU vs the floor. */
export const ratios = (
  rs: ReadonlyArray<ResultRow>,
  w: WorkloadName,
  rows: number
): { readonly speedupVsJsforce: number | null; readonly cpuVsFloor: number | null; readonly rssVsJsforce: number | null } => {
  const s = find(rs, w, "sfbulk", rows)
  const j = find(rs, jsforceCounterpart(w), "jsforce", rows)
  const f = find(rs, "floor", "floor", rows)
  const ok = (r: ResultRow | undefined): r is ResultRow & { wallMs: number; cpuMs: number; peakRssMb: number } =>
    r !== undefined && r.ok && r.wallMs !== null
  return {
    speedupVsJsforce: ok(s) && ok(j) ? round(j.wallMs / s.wallMs, 2) : null,
    cpuVsFloor: ok(s) && ok(f) ? round(s.cpuMs / f.cpuMs, 2) : null,
    rssVsJsforce: ok(s) && ok(j) ? round(s.peakRssMb / j.peakRssMb, 2) : null
  }
}

/** Facts printed at the top of RESULTS.md. */
export interface Environment {
  readonly date: string
  readonly command: string
  readonly node: string
  readonly machine: string
  readonly method: string
}

const fmtMs = (ms: number) => (ms >= 10_000 ? `${round(ms / 1000, 1)} s` : `${Math.round(ms)} ms`)
const fmtRate = (rows: number, ms: number) => `${Math.round(rows / (ms / 1000)).toLocaleString("en-US")}`

/** The table cell text for a result. */
const cells = (r: ResultRow | undefined): Array<string> => {
  if (r === undefined) return ["not run", "", "", "", "", ""]
  if (!r.ok || r.wallMs === null || r.cpuMs === null || r.peakRssMb === null) {
    return [`**${r.note ?? "failed"}**`, "", "", "", "", `${r.runs.length}`]
  }
  return [
    `${fmtMs(r.wallMs)} (${fmtMs(r.min!.wallMs)}–${fmtMs(r.max!.wallMs)})`,
    fmtRate(r.rows, r.wallMs),
    `${fmtMs(r.cpuMs)} (${fmtMs(r.min!.cpuMs)}–${fmtMs(r.max!.cpuMs)})`,
    `${r.peakRssMb} (${r.min!.peakRssMb}–${r.max!.peakRssMb})`,
    r.emulatorCpuMs === undefined ? "" : fmtMs(r.emulatorCpuMs),
    `${r.runs.length}`
  ]
}

/** RESULTS.md. */
export const renderMarkdown = (rs: ReadonlyArray<ResultRow>, env: Environment, extra: ReadonlyArray<string> = []): string => {
  const out: Array<string> = []
  out.push("# Benchmark results: sfbulk vs jsforce 3 vs the CSV floor", "")
  const commands = [...new Set([...rs.flatMap((r) => (r.command ? [r.command] : [])), env.command])].filter((c) => c !== "")
  out.push(`- Date: ${env.date}`, ...commands.map((c) => `- Command: \`${c}\``), `- Node: ${env.node}`, `- Machine: ${env.machine}`)
  out.push(`- Method: ${env.method}`, "")
  out.push("Each cell: median (min–max) over the runs; throughput in rows/s from the median wall time.", "")
  out.push("![time and peak memory against rows](chart.svg)", "")
  const workloads = [...new Set(rs.map((r) => r.workload))].filter((w) => w !== "floor")
  const rowCounts = [...new Set(rs.map((r) => r.rows))].sort((a, b) => a - b)
  for (const w of [...workloads, "floor" as const]) {
    const mine = rs.filter((r) => r.workload === w)
    if (mine.length === 0) continue
    out.push(`## ${w}`, "")
    out.push(
      "| rows | client | wall | rows/s | CPU | peak RSS MB | emulator CPU | runs | notes |",
      "|---:|---|---|---:|---|---|---:|---:|---|"
    )
    for (const n of rowCounts) {
      for (const c of ["sfbulk", "jsforce", "floor"] as const) {
        const r = find(rs, w, c, n)
        if (r === undefined) continue
        const note = r.ok ? r.note ?? "" : ""
        out.push(`| ${n.toLocaleString("en-US")} | ${c} | ${cells(r).join(" | ")} | ${note} |`)
      }
    }
    if (w !== "floor") {
      const lines = rowCounts.flatMap((n) => {
        const q = ratios(rs, w, n)
        if (q.speedupVsJsforce === null && q.cpuVsFloor === null) return []
        const parts = [
          q.speedupVsJsforce === null
            ? null
            : `sfbulk/jsforce throughput **${q.speedupVsJsforce}x** (target ≥ 2x ${q.speedupVsJsforce >= 2 ? "met" : "missed"})`,
          q.rssVsJsforce === null ? null : `peak RSS sfbulk/jsforce ${q.rssVsJsforce}x`,
          q.cpuVsFloor === null ? null : `sfbulk/floor CPU **${q.cpuVsFloor}x** (target ≤ 1.5x ${q.cpuVsFloor <= 1.5 ? "met" : "missed"})`
        ].filter((x) => x !== null)
        return [`- ${n.toLocaleString("en-US")} rows: ${parts.join("; ")}`]
      })
      if (w === "query-2.0-parallel") lines.push("- jsforce has no parallel page download; its figure is its sequential `bulk2.query`.")
      out.push("", ...lines)
      const mem = memoryGrowth(rs, w)
      if (mem !== null) {
        out.push(
          `- sfbulk peak RSS ${mem.small.toLocaleString("en-US")} → ${
            mem.large.toLocaleString("en-US")
          } rows: ${mem.fromMb} → ${mem.toMb} MB (**${mem.growth}x**; target ≤ 1.2x and < 200 MB ${
            mem.growth <= 1.2 && mem.toMb < 200 ? "met" : "missed"
          })`
        )
      }
    }
    out.push("")
  }
  out.push(...realisticSection(rs))
  out.push(...extra)
  return out.join("\n") + "\n"
}

/**
 * Realistic-org cells: wall time as a multiple of the server-bound limit, the API requests the org
 * counted, and for contention runs the rows still failed on locks.
 */
export const realisticSection = (rs: ReadonlyArray<ResultRow>): Array<string> => {
  const mine = rs.filter((r) => r.profile === "realistic")
  if (mine.length === 0) return []
  const out = [
    "## Realistic org (emulator `--profile realistic`)",
    "",
    "The limit is the emulator's own processing time for the work at full parallelism: no client can finish sooner.",
    "",
    "| workload | rows | client | wall | limit | wall / limit | API requests | lock failures left |",
    "|---|---:|---|---:|---:|---:|---:|---:|"
  ]
  for (const r of [...mine].sort((a, b) => a.workload.localeCompare(b.workload) || a.rows - b.rows || a.client.localeCompare(b.client))) {
    const wall = r.ok && r.wallMs !== null ? fmtMs(r.wallMs) : `**${r.note ?? "failed"}**`
    const ratio = r.ok && r.wallMs !== null && r.limitMs !== undefined && r.limitMs > 0 ? `${round(r.wallMs / r.limitMs, 2)}x` : ""
    out.push(
      `| ${r.workload} | ${r.rows.toLocaleString("en-US")} | ${r.client} | ${wall} | ${
        r.limitMs === undefined ? "" : fmtMs(r.limitMs)
      } | ${ratio} | ${r.apiRequests ?? ""} | ${r.lockFailuresLeft ?? ""} |`
    )
  }
  out.push("")
  return out
}

/** sfbulk's peak RSS growth between the smallest and largest row counts of a workload. */
export const memoryGrowth = (
  rs: ReadonlyArray<ResultRow>,
  w: WorkloadName
): { small: number; large: number; fromMb: number; toMb: number; growth: number } | null => {
  const mine = rs.filter((r) => r.workload === w && r.client === "sfbulk" && r.ok && r.peakRssMb !== null)
  if (mine.length < 2) return null
  const sorted = [...mine].sort((a, b) => a.rows - b.rows)
  // Issue 6 compares 1,000,000 with 5,000,000 rows: prefer 1M as the small point when measured.
  const a = sorted.find((r) => r.rows === 1_000_000 && r !== sorted[sorted.length - 1]) ?? sorted[0]!
  const b = sorted[sorted.length - 1]!
  return { small: a.rows, large: b.rows, fromMb: a.peakRssMb!, toMb: b.peakRssMb!, growth: round(b.peakRssMb! / a.peakRssMb!, 2) }
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const palette: Record<ClientName, string> = { sfbulk: "#1f77b4", jsforce: "#d62728", floor: "#2ca02c" }
const dashes = ["", "6 3", "2 3", "10 3 2 3", "1 2", "8 2 2 2 2 2"]

/**
 * A hand-written SVG: two panels (wall time, peak RSS) against rows, one line per workload and
 * client (colour = client, dash = workload).
 */
export const renderSvg = (rs: ReadonlyArray<ResultRow>): string => {
  const ok = rs.filter((r) => r.ok && r.wallMs !== null && r.peakRssMb !== null)
  const series = new Map<string, Array<ResultRow>>()
  for (const r of ok) {
    const key = `${r.client}|${r.workload}`
    series.set(key, [...(series.get(key) ?? []), r].sort((a, b) => a.rows - b.rows))
  }
  const workloads = [...new Set(ok.map((r) => r.workload))]
  const W = 960
  const panelW = 400
  const H = 300
  const top = 40
  const left = [70, 70 + panelW + 80]
  const maxRows = Math.max(1, ...ok.map((r) => r.rows))
  const niceMax = (x: number) => {
    if (x <= 0) return 1
    const p = 10 ** Math.floor(Math.log10(x))
    return [1, 2, 2.5, 5, 10].map((m) => m * p).find((v) => v >= x)!
  }
  const maxWall = niceMax(Math.max(0, ...ok.map((r) => r.wallMs! / 1000)))
  const maxRss = niceMax(Math.max(0, ...ok.map((r) => r.peakRssMb!)))
  const legendRows = Math.ceil(series.size / 3)
  const height = top + H + 60 + legendRows * 18 + 20
  const parts: Array<string> = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${height}" fill="white"/>`
  )
  const panel = (x0: number, title: string, yMax: number, unit: string, value: (r: ResultRow) => number) => {
    const sx = (rows: number) => x0 + (rows / maxRows) * panelW
    const sy = (v: number) => top + H - (v / yMax) * H
    parts.push(`<text x="${x0 + panelW / 2}" y="${top - 16}" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`)
    for (let k = 0; k <= 5; k++) {
      const v = (yMax * k) / 5
      const y = sy(v)
      parts.push(`<line x1="${x0}" y1="${y}" x2="${x0 + panelW}" y2="${y}" stroke="#ddd"/>`)
      parts.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end">${round(v, 1)}</text>`)
      const rx = (maxRows * k) / 5
      parts.push(
        `<text x="${sx(rx)}" y="${top + H + 16}" text-anchor="middle">${
          rx >= 1e6 ? `${round(rx / 1e6, 1)}M` : `${round(rx / 1e3, 0)}k`
        }</text>`
      )
    }
    parts.push(`<rect x="${x0}" y="${top}" width="${panelW}" height="${H}" fill="none" stroke="#333"/>`)
    parts.push(`<text x="${x0 + panelW / 2}" y="${top + H + 34}" text-anchor="middle">rows</text>`)
    parts.push(`<text transform="translate(${x0 - 48},${top + H / 2}) rotate(-90)" text-anchor="middle">${esc(unit)}</text>`)
    for (const [key, pts] of series) {
      const [client, workload] = key.split("|") as [ClientName, WorkloadName]
      const colour = palette[client]
      const dash = dashes[workloads.indexOf(workload) % dashes.length]!
      const d = pts.map((p, i) => `${i === 0 ? "M" : "L"}${round(sx(p.rows))},${round(sy(value(p)))}`).join(" ")
      parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`)
      for (const p of pts) {
        parts.push(
          `<circle cx="${round(sx(p.rows))}" cy="${round(sy(value(p)))}" r="3" fill="${colour}"><title>${
            esc(`${client} ${workload} ${p.rows} rows: ${round(value(p), 1)} ${unit}`)
          }</title></circle>`
        )
      }
    }
  }
  panel(left[0]!, "Wall time", maxWall, "seconds", (r) => r.wallMs! / 1000)
  panel(left[1]!, "Peak RSS of the client process", maxRss, "MB", (r) => r.peakRssMb!)
  let i = 0
  for (const key of series.keys()) {
    const [client, workload] = key.split("|") as [ClientName, WorkloadName]
    const x = 70 + (i % 3) * 300
    const y = top + H + 60 + Math.floor(i / 3) * 18
    const dash = dashes[workloads.indexOf(workload) % dashes.length]!
    parts.push(
      `<line x1="${x}" y1="${y - 4}" x2="${x + 30}" y2="${y - 4}" stroke="${palette[client]}" stroke-width="2"${
        dash ? ` stroke-dasharray="${dash}"` : ""
      }/>`
    )
    parts.push(`<text x="${x + 36}" y="${y}">${esc(client === "floor" ? "floor (CSV encode + parse)" : `${client} ${workload}`)}</text>`)
    i++
  }
  parts.push("</svg>")
  return parts.join("\n") + "\n"
}
