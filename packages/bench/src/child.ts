/**
 * The frame of a workload process: one workload, one fresh process. Runs it, then prints
 * `RESULT {json}` with the process's own CPU time and peak RSS (`peakRssMb`, see `peakRssKb`).
 * Each client has its own entry (`workloads/*.ts` end with `runChild(run)`), so a process loads only
 * the client it measures.
 */
import { readFileSync } from "node:fs"
import { resultPrefix, type ProcessReport, type RunSpec, type WorkloadOutcome } from "./internal/spec.js"

// Where the peak RSS lives: the V8 heap, or memory outside it (Buffers, zlib, sockets).
const peak = { heapTotalMb: 0, externalMb: 0 }
const sample = () => {
  const m = process.memoryUsage()
  peak.heapTotalMb = Math.max(peak.heapTotalMb, Math.round(m.heapTotal / 2 ** 20))
  peak.externalMb = Math.max(peak.externalMb, Math.round((m.external + m.arrayBuffers) / 2 ** 20))
}
setInterval(sample, 100).unref()

// SFBULK_BENCH_MEMLOG=<dir>: writes <dir>/<client>-<workload>-<rows>.txt, a timeline of process.memoryUsage() every 50 ms (ms since start, rss,
// heapTotal, heapUsed, external, arrayBuffers, in MB), to see which phase of a run holds memory.
const memlog = process.env["SFBULK_BENCH_MEMLOG"]
let markLine: (label: string) => void = () => undefined
let dumpMaps: () => void = () => undefined
/** Notes a phase of the workload in the memory timeline (a no-op unless SFBULK_BENCH_MEMLOG is set). */
export const mark = (label: string): void => markLine(label)
if (memlog !== undefined && memlog !== "") {
  const { appendFileSync, mkdirSync, readFileSync, writeFileSync } = await import("node:fs")
  const { join } = await import("node:path")
  const spec = JSON.parse(process.argv[2] ?? "{}") as Partial<RunSpec>
  mkdirSync(memlog, { recursive: true })
  const file = join(memlog, `${spec.client}-${spec.workload}-${spec.rows}.txt`)
  const t0 = performance.now()
  const mb = (n: number) => (n / 2 ** 20).toFixed(1)
  // RssAnon vs RssFile (Linux): memory the process allocated vs pages of the node binary and libraries it touched
  const status = () => {
    try {
      const text = readFileSync("/proc/self/status", "utf8")
      const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(text)?.[1] ?? 0)
      return `${(kb("RssAnon") / 1024).toFixed(1)} ${(kb("RssFile") / 1024).toFixed(1)}`
    } catch {
      return "- -"
    }
  }
  writeFileSync(file, "ms rss heapTotal heapUsed external arrayBuffers rssAnon rssFile\n")
  setInterval(() => {
    const m = process.memoryUsage()
    appendFileSync(
      file,
      `${Math.round(performance.now() - t0)} ${mb(m.rss)} ${mb(m.heapTotal)} ${mb(m.heapUsed)} ${mb(m.external)} ${
        mb(m.arrayBuffers)
      } ${status()}\n`
    )
  }, 50).unref()
  // at the end: the largest resident mappings (/proc/self/smaps), to tell V8's heap from malloc arenas
  dumpMaps = () => {
    try {
      const rows: Array<[number, string]> = []
      let head = ""
      for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
        if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) head = line
        else if (line.startsWith("Rss:")) rows.push([Number(line.split(/\s+/)[1]), head])
      }
      rows.sort((a, b) => b[0] - a[0])
      for (const [kb, h] of rows.slice(0, 25)) appendFileSync(file, `# map ${(kb / 1024).toFixed(1)} MB ${h}\n`)
    } catch {
      // not Linux
    }
  }
  markLine = (label) => appendFileSync(file, `# ${label} at ${Math.round(performance.now() - t0)} ms\n`)
  // and each major GC (mark-compact), to see when V8 lets the old generation's garbage go
  const { PerformanceObserver, constants } = await import("node:perf_hooks")
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        const m = process.memoryUsage()
        appendFileSync(
          file,
          `# major GC at ${Math.round(e.startTime - t0)} ms, ${e.duration.toFixed(1)} ms; heapUsed after ${mb(m.heapUsed)}\n`
        )
      }
    }
  }).observe({ entryTypes: ["gc"] })
}

/**
 * The peak RSS of this process's own memory: `VmHWM` of /proc/self/status on Linux. Not
 * `process.resourceUsage().maxRSS`: Linux keeps `ru_maxrss` across `execve`, so a child spawned by
 * a large parent reports the parent's RSS at fork time (the bench itself, 250-310 MB after seeding
 * 1M-5M rows for the query workloads) whenever its own peak is lower. `maxRSS` off Linux.
 */
const peakRssKb = (): number => {
  try {
    const hwm = /VmHWM:\s+(\d+)\s*kB/.exec(readFileSync("/proc/self/status", "utf8"))
    if (hwm) return Number(hwm[1])
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS
}

const report = (outcome: WorkloadOutcome, workMs: number): void => {
  sample()
  dumpMaps()
  const cpu = process.cpuUsage()
  const line: ProcessReport = {
    ...outcome,
    peakHeapTotalMb: peak.heapTotalMb,
    peakExternalMb: peak.externalMb,
    workMs: Math.round(workMs),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    peakRssMb: Math.round((peakRssKb() / 1024) * 10) / 10,
    node: process.version
  }
  process.stdout.write(`${resultPrefix}${JSON.stringify(line)}\n`)
}

let stallDetail: (() => string) | undefined

/** Lets a workload say what it was doing if its client stalls (see `beforeExit` below). */
export const onStall = (describe: () => string): void => {
  stallDetail = describe
}

/** Run the workload named in argv[2] (a `RunSpec`) and report. */
export const runChild = (run: (spec: RunSpec) => Promise<WorkloadOutcome>): void => {
  const spec = JSON.parse(process.argv[2] ?? "{}") as RunSpec
  const t0 = performance.now()
  let finished = false
  // A client that stops reading without error or end leaves nothing for the event loop to do: say so.
  process.once("beforeExit", () => {
    if (!finished) {
      report(
        {
          ok: false,
          rows: 0,
          detail: `stalled: the client's work never completed and never failed (nothing left to run)${
            stallDetail ? `; ${stallDetail()}` : ""
          }`
        },
        performance.now() - t0
      )
    }
  })
  run(spec)
    .catch((e: unknown): WorkloadOutcome => {
      const err = e as Error
      return { ok: false, rows: 0, detail: `${err?.name ?? "Error"}: ${err?.message ?? String(e)}`.slice(0, 600) }
    })
    .then((outcome) => {
      finished = true
      report(outcome, performance.now() - t0)
      process.exit(0)
    })
}
