/**
 * `pnpm --filter @sfbulk/bench run jsforce-check [--rows N]`: start the emulator in its own process,
 * run jsforce 3 against it on Node 22 (Bulk 1.0 load insert/update/upsert/delete and query, Bulk 2.0
 * ingest with results and query), print what passed, exit 1 when anything failed.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import { startEmulator } from "./internal/emulator.js"
import { node22, repoDir, srcDir, tsxLoader } from "./internal/paths.js"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}

const rows = arg("rows", "2500")
const pageSize = arg("page-size", "1000")

const main = async (): Promise<number> => {
  // Small 2.0 result pages and 1.0 result files, so jsforce follows Sforce-Locator across 2.0 pages
  // and reads several 1.0 result ids.
  const emulator = await startEmulator(["--page-size", pageSize, "--result-file-rows", pageSize])
  try {
    console.log(`emulator pid ${emulator.pid} at ${emulator.facts.instanceUrl}`)
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        node22(),
        ["--import", tsxLoader(), join(srcDir, "jsforce/check.ts"), JSON.stringify(emulator.facts), rows, pageSize],
        { cwd: repoDir, stdio: ["ignore", "inherit", "inherit"] }
      )
      const timer = setTimeout(() => child.kill("SIGKILL"), 600_000)
      child.once("exit", (c, signal) => {
        clearTimeout(timer)
        if (signal !== null) console.log(`jsforce check process killed by ${signal}`)
        resolve(c)
      })
    })
    return code ?? 1
  } finally {
    const exit = await emulator.stop()
    if (exit !== 0) console.log(`emulator exited with ${exit} on SIGTERM\n${emulator.stderr()}`)
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
