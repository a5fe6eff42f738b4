/**
 * Kill-anywhere trials: the real `sfbulk import` on Bulk API 1.0 or 2.0, in several pieces, is
 * stopped at a seeded random moment (SIGKILL, SIGINT, SIGTERM, or `--wait` running out); then the
 * advice it printed is followed (for SIGKILL, which prints nothing, `sfbulk resume` lists the
 * import left to finish), until the import is finished. Each trial then checks that the org
 * holds each input row exactly once with its values intact, and that the result files account
 * for every row exactly once. Used by KillAnywhere.test.ts (a few trials) and
 * scripts/kill-anywhere.ts (`pnpm soak:kill`, many).
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Emulator } from "@sfbulk/emulator"
import { parse } from "csv-parse/sync"
import { BIN, cleanEnv } from "./helpers.js"

/** The emulator a trial runs against. */
export type EmulatorLike = Awaited<ReturnType<typeof Emulator.start>>

/** How a run is stopped. */
export type Stop = "SIGKILL" | "SIGINT" | "SIGTERM" | "wait"

/** One trial. */
export interface Trial {
  readonly api: "1.0" | "2.0"
  readonly stop: Stop
  readonly seed: number
  readonly rows: number
  /** Rows per piece (1.0 batch, 2.0 job). */
  readonly piece: number
  /** Read the input from standard input (spooled by sfbulk) rather than a file. */
  readonly stdin: boolean
  /** The earliest and latest moment a signal is sent (ms after a run's first request), or the `--wait` range. */
  readonly minDelayMs: number
  readonly maxDelayMs: number
  /** Also stop the resume runs (the first `restops` of them). */
  readonly restops: number
  /**
   * Lock contention: Contacts under these parent Accounts (interleaved, so parallel pieces
   * contend), imported with `--retry-locked-rows` and `--order-by-parent AccountId`; the values
   * carry a comma, quotes, a line break and non-ASCII text.
   */
  readonly lock?: { readonly parents: ReadonlyArray<string>; readonly rounds: number; readonly orderByParent: boolean } | undefined
}

/** What a trial found. */
export interface TrialResult {
  readonly trial: Trial
  readonly lost: number
  readonly duplicated: number
  readonly altered: number
  /** Input rows missing from, or repeated in, the result files. */
  readonly misfiled: number
  /** Journals left in the state directory after the import finished. */
  readonly leftovers: number
  /** Temp entries (spool, sort files) left in the trial's TMPDIR after the runs (SIGKILL leaves some by nature). */
  readonly tempLeft: number
  /** Each run: its command, how it was stopped, its exit code. */
  readonly steps: ReadonlyArray<string>
  readonly ok: boolean
}

/** A small seeded generator (mulberry32), so a failing trial can be replayed by its seed. */
export const random = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Run {
  readonly code: number | null
  readonly signal: string | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs sfbulk; `stopAfterMs` counts from its first request to the emulator (not from the spawn:
 * how long Node takes to start on a loaded machine must not decide whether the stop lands).
 */
const runSfbulk = (
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  input: string | undefined,
  stopAfterMs: number | undefined,
  signal: NodeJS.Signals,
  emu?: EmulatorLike
): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d))
    let timer: ReturnType<typeof setTimeout> | undefined
    if (stopAfterMs !== undefined) {
      const before = emu?.stats().requests
      const arm = () => {
        timer = setTimeout(() => child.kill(signal), stopAfterMs)
      }
      if (before === undefined) arm()
      else {
        const watch = () => {
          if (emu!.stats().requests > before) arm()
          else timer = setTimeout(watch, 10)
        }
        watch()
      }
    }
    // a run that never ends is a failure of its own (a hang), reported rather than waited for
    const guard = setTimeout(() => child.kill("SIGKILL"), 120_000)
    child.on("error", reject)
    child.on("close", (code, sig) => {
      if (timer) clearTimeout(timer)
      clearTimeout(guard)
      resolve({ code, signal: sig, stdout, stderr })
    })
    child.stdin.on("error", () => undefined)
    child.stdin.end(input ?? "")
  })

const RESUME = /sfbulk resume --journal (\S+)/

/** Runs one trial against `emu`. */
export const runTrial = async (emu: EmulatorLike, trial: Trial): Promise<TrialResult> => {
  const next = random(trial.seed)
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-kill-"))
  try {
    const state = Path.join(dir, "state")
    const out = Path.join(dir, "out")
    const tag = `KA${trial.api.replace(".", "")}${trial.stop}${trial.seed}x${Math.floor(next() * 1e6)}`
    const lock = trial.lock
    const rows = Array.from(
      { length: trial.rows },
      (_, i) => ({ Name: `${tag} ${i}`, Description: lock ? `v${i}, "q"\r\nline two ✓ ${tag}` : `v${i}, "q" ${tag}` })
    )
    const quote = (v: string) => `"${v.replace(/"/g, "\"\"")}"`
    const csv = lock
      ? "LastName,AccountId,Description\n" +
        rows.map((r, i) => `${r.Name},${lock.parents[i % lock.parents.length]},${quote(r.Description)}`).join("\n") + "\n"
      : "Name,Description\n" + rows.map((r) => `${r.Name},${quote(r.Description)}`).join("\n") + "\n"
    const file = Path.join(dir, "input.csv")
    Fs.writeFileSync(file, csv)
    const tmp = Path.join(dir, "tmp")
    Fs.mkdirSync(tmp)
    const env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken, SFBULK_STATE_DIR: state, TMPDIR: tmp })
    const steps: Array<string> = []
    const stopOf = (round: number): { args: Array<string>; after?: number; signal: NodeJS.Signals } => {
      if (round > trial.restops) return { args: [], signal: "SIGKILL" }
      if (trial.stop === "wait") {
        return { args: ["--wait", `${Math.round(trial.minDelayMs + next() * (trial.maxDelayMs - trial.minDelayMs))}ms`], signal: "SIGKILL" }
      }
      return { args: [], after: Math.round(trial.minDelayMs + next() * (trial.maxDelayMs - trial.minDelayMs)), signal: trial.stop }
    }
    const importArgs = [
      "import",
      lock ? "Contact" : "Account",
      ...(lock ? ["--retry-locked-rows", String(lock.rounds)] : []),
      ...(lock?.orderByParent ? ["--order-by-parent", "AccountId"] : []),
      "--file",
      trial.stdin ? "-" : file,
      "--api",
      trial.api,
      "--batch-size",
      String(trial.piece),
      "--concurrency",
      "2",
      "--results-dir",
      out,
      "--json"
    ]
    const run = async (args: Array<string>, round: number, input?: string) => {
      const s = stopOf(round)
      const r = await runSfbulk([...args, ...s.args], env, input, s.after, s.signal, emu)
      steps.push(`${args[0]} ${s.args.join(" ")}${s.after !== undefined ? ` ${s.signal}@${s.after}ms` : ""} -> ${r.code ?? r.signal}`)
      return r
    }
    let r = await run(importArgs, 0, trial.stdin ? csv : undefined)
    let round = 1
    // finished: exit 0 or 3, or the final summary printed before a signal landed on the way out
    // (the import was complete and its journal removed: what a user sees is the summary)
    const finished = (x: Run) => x.code === 0 || x.code === 3 || /"exitCode":\s*[03]\b/.test(x.stdout.trim().split("\n").pop() ?? "")
    while (!finished(r)) {
      if (round > trial.restops + 3) throw new Error(`not finished after ${round} runs: ${steps.join("; ")}\n${r.stderr}`)
      const advised = RESUME.exec(r.stderr)?.[1]
      let journal = advised
      if (journal === undefined) {
        // nothing printed (SIGKILL): the imports left to finish are listed by `sfbulk resume`
        const listed = await runSfbulk(["resume", "--json"], env, undefined, undefined, "SIGKILL")
        const journals = (JSON.parse(listed.stdout.trim().split("\n").pop()!) as { journals: Array<{ journal: string }> }).journals
        if (journals.length > 1) throw new Error(`several journals: ${JSON.stringify(journals)}`)
        journal = journals[0]?.journal
      }
      if (journal === undefined) {
        // no journal: the run stopped before anything could be sent, so the import is run again
        if (r.code !== null && r.code !== 130 && r.signal === null) throw new Error(`failed without advice (${r.code}): ${r.stderr}`)
        r = await run(importArgs, round, trial.stdin ? csv : undefined)
      } else {
        r = await run(["resume", "--journal", journal, "--json"], round)
      }
      round++
    }
    // the org: each row once, values intact
    const q = emu.org.query(
      lock
        ? `SELECT LastName, Description FROM Contact WHERE LastName LIKE '${tag} %'`
        : `SELECT Name, Description FROM Account WHERE Name LIKE '${tag} %'`,
      { all: true }
    )
    if (!q.ok) throw new Error(`org query failed: ${JSON.stringify(q.error)}`)
    const seen = new Map<string, number>()
    let altered = 0
    const byName = new Map(rows.map((x) => [x.Name, x.Description]))
    for (let i = 0; i < q.result.size; i++) {
      const [name, description] = q.result.row(i) as [string, string]
      seen.set(name, (seen.get(name) ?? 0) + 1)
      if (byName.get(name) !== description) altered++
    }
    const duplicated = [...seen.values()].reduce((n, c) => n + c - 1, 0)
    // the result files of the run that finished: every input row exactly once, in the file that
    // matches the org (success: in the org; failed or unprocessed: not in it)
    const summary = JSON.parse(r.stdout.trim().split("\n").pop()!) as { files: Record<string, string> }
    const filed = new Map<string, number>()
    const notLoaded = new Set<string>()
    let misfiled = 0
    for (const [kind, f] of Object.entries(summary.files)) {
      for (const rec of parse(Fs.readFileSync(f, "utf8"), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>) {
        const name = rec[lock ? "LastName" : "Name"]!
        filed.set(name, (filed.get(name) ?? 0) + 1)
        if (kind !== "success") notLoaded.add(name)
        if ((kind === "success") !== seen.has(name)) misfiled++
      }
    }
    // lost: neither in the org nor handed back as failed or unprocessed
    const lost = rows.filter((x) => !seen.has(x.Name) && !notLoaded.has(x.Name)).length
    misfiled += rows.filter((x) => filed.get(x.Name) !== 1).length + [...filed.keys()].filter((k) => !byName.has(k)).length
    const leftovers = Fs.existsSync(state) ? Fs.readdirSync(state).filter((n) => n.endsWith(".jsonl")).length : 0
    const tempLeft = Fs.readdirSync(tmp).length
    return {
      trial,
      lost,
      duplicated,
      altered,
      misfiled,
      leftovers,
      tempLeft,
      steps,
      ok: lost + duplicated + altered + misfiled + leftovers === 0
    }
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}
