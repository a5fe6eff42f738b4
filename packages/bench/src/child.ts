/**
 * The frame of a workload process: one workload, one fresh process. Runs it, then prints
 * `RESULT {json}` with the process's own CPU time and peak RSS (`process.resourceUsage().maxRSS`).
 * Each client has its own entry (`workloads/*.ts` end with `runChild(run)`), so a process loads only
 * the client it measures.
 */
import { resultPrefix, type ProcessReport, type RunSpec, type WorkloadOutcome } from "./internal/spec.js"

// Where the peak RSS lives: the V8 heap, or memory outside it (Buffers, zlib, sockets).
const peak = { heapTotalMb: 0, externalMb: 0 }
const sample = () => {
  const m = process.memoryUsage()
  peak.heapTotalMb = Math.max(peak.heapTotalMb, Math.round(m.heapTotal / 2 ** 20))
  peak.externalMb = Math.max(peak.externalMb, Math.round((m.external + m.arrayBuffers) / 2 ** 20))
}
setInterval(sample, 100).unref()

const report = (outcome: WorkloadOutcome, workMs: number): void => {
  sample()
  const cpu = process.cpuUsage()
  const line: ProcessReport = {
    ...outcome,
    peakHeapTotalMb: peak.heapTotalMb,
    peakExternalMb: peak.externalMb,
    workMs: Math.round(workMs),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    peakRssMb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
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
