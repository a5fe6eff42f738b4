/**
 * jsforce 3 (a client nobody here wrote, on Node 22) against the emulator over real HTTP, unchanged:
 * Bulk 1.0 load insert/update/upsert/delete and query, Bulk 2.0 ingest with results and query.
 * The same check as `pnpm --filter @sfbulk/bench run jsforce-check`, smaller.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { startEmulator } from "../src/internal/emulator.js"
import { node22, repoDir, srcDir, tsxLoader } from "../src/internal/paths.js"

interface CheckLine {
  readonly node: string
  readonly passed: number
  readonly failed: number
  readonly results: ReadonlyArray<{ step: string; ok: boolean; detail: string }>
}

describe("jsforce 3 against the emulator", () => {
  it("every Bulk 1.0 and 2.0 step passes", { timeout: 180_000 }, async () => {
    const emulator = await startEmulator(["--page-size", "500", "--result-file-rows", "500"])
    try {
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(
          node22(),
          ["--import", tsxLoader(), join(srcDir, "jsforce/check.ts"), JSON.stringify(emulator.facts), "1200", "500"],
          { cwd: repoDir, stdio: ["ignore", "pipe", "inherit"] }
        )
        let text = ""
        child.stdout.setEncoding("utf8").on("data", (d: string) => (text += d))
        child.once("error", reject)
        child.once("exit", () => resolve(text))
      })
      const line = out.split("\n").find((l) => l.startsWith("CHECK "))
      expect(line, out).toBeDefined()
      const check = JSON.parse(line!.slice("CHECK ".length)) as CheckLine
      expect(check.node.startsWith("v22.")).toBe(true)
      expect(check.results.filter((r) => !r.ok)).toEqual([])
      expect(check.passed).toBeGreaterThanOrEqual(11)
    } finally {
      expect(await emulator.stop()).toBe(0)
    }
  })
})
