/**
 * Runs the emulator in its own process (as issue 6 asks: its CPU and memory never mix with the
 * client's) and reads the one JSON line it prints once it listens.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { readFileSync } from "node:fs"
import { createInterface } from "node:readline"
import { emulatorBin, node22, repoDir, tsxLoader } from "./paths.js"

/** What the emulator prints when it is ready (the fields the bench uses). */
export interface EmulatorFacts {
  readonly instanceUrl: string
  readonly loginUrl: string
  readonly accessToken: string
  readonly username: string
  readonly password: string
  readonly securityToken?: string
  readonly apiVersion?: string
  readonly [key: string]: unknown
}

/** A running emulator process. */
export interface EmulatorProcess {
  readonly facts: EmulatorFacts
  readonly pid: number
  /** SIGTERM, then wait for exit (SIGKILL after `graceMs`). Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>
  /** The emulator's stderr so far (for diagnosing a failure). */
  stderr(): string
  /** CPU time (user + system) the emulator process has used so far, ms (Linux; undefined elsewhere). */
  cpuMs(): number | undefined
}

/** User + system CPU of a process from /proc (clock ticks of 10 ms), or undefined off Linux. */
export const processCpuMs = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

/** Start the emulator with zero processing latency plus `extraArgs`. */
export const startEmulator = async (
  extraArgs: ReadonlyArray<string> = [],
  options: {
    readonly maxOldSpaceMb?: number
    readonly startTimeoutMs?: number
    /** Extra Node flags, e.g. `--cpu-prof` to profile the emulator. */
    readonly nodeArgs?: ReadonlyArray<string>
  } = {}
): Promise<EmulatorProcess> => {
  const args = [
    `--max-old-space-size=${options.maxOldSpaceMb ?? 16384}`,
    ...(options.nodeArgs ?? []),
    "--import",
    tsxLoader(),
    emulatorBin,
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--latency",
    "0",
    ...extraArgs
  ]
  const child: ChildProcess = spawn(node22(), args, { cwd: repoDir, stdio: ["ignore", "pipe", "pipe"] })
  let err = ""
  child.stderr!.setEncoding("utf8")
  child.stderr!.on("data", (d: string) => {
    err = (err + d).slice(-20_000)
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const facts = await new Promise<EmulatorFacts>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`emulator did not print its facts within ${options.startTimeoutMs ?? 60_000} ms\n${err}`))
    }, options.startTimeoutMs ?? 60_000)
    const lines = createInterface({ input: child.stdout! })
    lines.once("line", (line) => {
      clearTimeout(timer)
      try {
        resolve(JSON.parse(line) as EmulatorFacts)
      } catch {
        child.kill("SIGKILL")
        reject(new Error(`emulator printed something that is not JSON: ${line}\n${err}`))
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`emulator exited (code ${code}) before it listened\n${err}`))
    })
  })
  // Keep draining stdout so the emulator never blocks on a full pipe.
  child.stdout!.resume()
  return {
    facts,
    pid: child.pid!,
    stderr: () => err,
    cpuMs: () => processCpuMs(child.pid!),
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
}
