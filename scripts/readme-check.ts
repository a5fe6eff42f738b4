/**
 * `pnpm check:readme`: every TypeScript block (```ts) of README.md and packages/* /README.md is
 * type-checked, so that an example a user copies compiles (strict, exactOptionalPropertyTypes,
 * NodeNext) against the workspace's packages.
 *
 * Each block is its own module. A block without `import` lines is a fragment of the text around it:
 * it gets the usual imports (effect's modules, every @sfbulk module). An HTML comment on the line
 * before a block (invisible on the rendered page) adds what the prose takes as given:
 *   <!-- check: declare const rows: ReadonlyArray<BulkClient.Row> -->   code put before the block
 *   <!-- check: skip (a sketch of the Outcome shape) -->                 a block that is not code
 * Writes only under the OS temp dir. Exits non-zero listing each failing block by file and line.
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const repo = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const readmes = [
  "README.md",
  ...Fs.readdirSync(Path.join(repo, "packages")).map((p) => `packages/${p}/README.md`).filter((p) => Fs.existsSync(Path.join(repo, p)))
]

/** What a fragment may use without importing it. */
const PRELUDE = `import { Chunk, Config, Duration, Effect, Layer, Option, Redacted, Schedule, Schema, Stream } from "effect"
import { NodeHttpClient } from "@effect/platform-node"
import { Bulk1, Bulk2, BulkClient, BulkError, Csv, Journal, SalesforceAuth, Soql, soql } from "@sfbulk/client"
import { Emulator, Org } from "@sfbulk/emulator"
import { BulkClientEmulator, BulkClientMock } from "@sfbulk/testing"
import { CsvReader } from "@sfbulk/csv"
`

interface Block {
  readonly file: string
  readonly line: number
  readonly code: string
  readonly given: string
}

const blocks: Array<Block> = []
let skipped = 0
for (const file of readmes) {
  const lines = Fs.readFileSync(Path.join(repo, file), "utf8").split("\n")
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l))
    if (end < 0) throw new Error(`${file}:${i + 1}: unclosed code block`)
    const directive = /^<!-- check: (.*) -->$/.exec(lines[i - 1] ?? "")?.[1] ?? ""
    if (directive.startsWith("skip")) skipped++
    else blocks.push({ file, line: i + 1, code: lines.slice(i + 1, end).join("\n"), given: directive })
    i = end
  }
}

const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-readme-"))
try {
  // the workspace's packages and their dependencies, as an application would import them
  Fs.symlinkSync(Path.join(repo, "node_modules"), Path.join(tmp, "node_modules"), "dir")
  const names = blocks.map((b, n) => {
    const name = `block${n}.ts`
    const hasImports = /^import /m.test(b.code)
    // imports first, then what the prose takes as given, then the rest of the block
    const imports = b.code.split("\n").filter((l) => /^import /.test(l)).join("\n")
    const body = b.code.split("\n").filter((l) => !/^import /.test(l)).join("\n")
    Fs.writeFileSync(
      Path.join(tmp, name),
      `${hasImports ? imports : PRELUDE}\n${b.given}\n${body}\nexport {}\n`
    )
    return name
  })
  Fs.writeFileSync(
    Path.join(tmp, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2023"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        exactOptionalPropertyTypes: true,
        noEmit: true,
        skipLibCheck: true,
        types: ["node"]
      },
      files: names
    })
  )
  Fs.writeFileSync(Path.join(tmp, "package.json"), JSON.stringify({ type: "module", private: true }))
  let output = ""
  try {
    execFileSync(process.execPath, [Path.join(repo, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], {
      cwd: tmp,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"]
    })
  } catch (e) {
    output = String((e as { stdout?: string }).stdout ?? e)
  }
  // report each error against the README line it comes from
  const failing = new Map<number, Array<string>>()
  for (const m of output.matchAll(/^block(\d+)\.ts\((\d+),\d+\): (error .*)$/gm)) {
    const n = Number(m[1])
    const list = failing.get(n) ?? []
    list.push(m[3]!)
    failing.set(n, list)
  }
  if (output !== "" && failing.size === 0) throw new Error(output)
  for (const [n, errors] of failing) {
    const b = blocks[n]!
    console.error(`${b.file}:${b.line}: the example does not compile:\n  ${errors.join("\n  ")}`)
  }
  console.log(`[readme] ${blocks.length - failing.size} of ${blocks.length} TypeScript blocks compile (${skipped} marked as sketches)`)
  if (failing.size > 0) process.exitCode = 1
} finally {
  Fs.rmSync(tmp, { recursive: true, force: true })
}
