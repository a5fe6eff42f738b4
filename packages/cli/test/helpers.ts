/**
 * Test helpers: spawn the real `sfbulk` executable (bin/sfbulk.js) and collect what it prints.
 */
import { Emulator } from "@sfbulk/emulator"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { parse } from "csv-parse/sync"

/** The executable users run. */
export const BIN = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../bin/sfbulk.js")

/** What a run printed and how it exited. */
export interface RunResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * One temp root per test file, removed when the file's tests are done: every temp dir of the tests is
 * made inside it, so test runs do not pile up directories (with customer-like data) in /tmp.
 */
const ROOT = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-e2e-"))
// removed after the test file that loaded this module (its hooks are the file's); a script
// outside Vitest (scripts/kill-anywhere.ts) removes it when it exits
if (process.env.VITEST) (await import("vitest")).afterAll(() => Fs.rmSync(ROOT, { recursive: true, force: true }))
else process.on("exit", () => Fs.rmSync(ROOT, { recursive: true, force: true }))

/** Where the runs of the tests keep journals (`SFBULK_STATE_DIR`). */
export const STATE_DIR = Fs.mkdtempSync(Path.join(ROOT, "state-"))

/** Environment without any `SF_*` variable of the machine running the tests. */
export const cleanEnv = (extra: Record<string, string> = {}): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("SF_") && v !== undefined) env[k] = v
  // journals and spool files of interrupted imports go to a temp dir, never the user's state dir
  return { ...env, NO_COLOR: "1", SFBULK_STATE_DIR: STATE_DIR, ...extra }
}

/**
 * Runs `sfbulk args...` with `env`, optional standard input, in `cwd` (a fresh temp dir unless
 * given: result files of stdin input go to the working directory, never into the repository).
 */
export const sfbulk = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly input?: string; readonly cwd?: string; readonly timeoutMs?: number } = {}
): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: options.env ?? cleanEnv(),
      cwd: options.cwd ?? tempDir(),
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`sfbulk ${args.join(" ")} timed out\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, options.timeoutMs ?? 45_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr })
    })
    child.stdin.end(options.input ?? "")
  })

/** A fresh temporary directory. */
export const tempDir = (): string => Fs.mkdtempSync(Path.join(ROOT, "t-"))

/** Writes `text` to `dir/name` and returns the path. */
export const writeFile = (dir: string, name: string, text: string): string => {
  const path = Path.join(dir, name)
  Fs.writeFileSync(path, text)
  return path
}

/** Reads a CSV file as records. */
export const readCsv = (path: string): Array<Record<string, string>> =>
  parse(Fs.readFileSync(path, "utf8"), { columns: true, skip_empty_lines: true })

/** The header row of a CSV file. */
export const csvHeader = (path: string): Array<string> => {
  const first = Fs.readFileSync(path, "utf8").split("\n")[0] ?? ""
  return first.length === 0 ? [] : (parse(first) as Array<Array<string>>)[0]!
}

/** The last JSON line of `text`. */
export const lastJson = (text: string): any => {
  const lines = text.trim().split("\n").filter((l) => l.startsWith("{"))
  if (lines.length === 0) throw new Error(`no JSON line in:\n${text}`)
  return JSON.parse(lines[lines.length - 1]!)
}

/**
 * An emulator on the realistic profile where parallel batches always contend (every contended row
 * fails `UNABLE_TO_LOCK_ROW`), with `parents` Accounts seeded: the org of the lock-contention tests.
 */
export const contendedOrg = async (o: { seed: number; insertsPerSecond: number; prefix: string; parents?: number }) => {
  const emu = await Emulator.start({
    latencyMs: 0,
    profile: "realistic",
    seed: o.seed,
    processing: {
      recordsPerSecond: { insert: o.insertsPerSecond },
      parallelBatches: 4,
      transactionRows: 25,
      requestLatencyMs: 0,
      lockFailureRate: 1
    }
  })
  const parents = Array.from({ length: o.parents ?? 6 }, (_, i) => {
    const out = emu.org.apply("insert", "Account", { Name: `${o.prefix} ${i}` })
    if (!out.success) throw new Error("seed failed")
    return out.id
  })
  return { emu, parents }
}
