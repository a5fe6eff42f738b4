/**
 * `pnpm test:consumer`: the packages as a user gets them from a registry. Builds and packs every
 * public package, checks what each tarball holds (and that every declaration map's sources ship
 * with it, for go to definition), installs the tarballs with npm into projects
 * under the OS temp dir (never the repository), then:
 * - type-checks a consumer (strict, exactOptionalPropertyTypes, declaration, skipLibCheck: false)
 *   with NodeNext and with Bundler resolution, and imports every public subpath; the package
 *   roots under old node10 resolution;
 * - runs a vitest test of `@sfbulk/testing`'s layers under `@effect/vitest`'s `it.effect`;
 * - runs it against the packed emulator (insert, typed query, typed errors caught), and through
 *   `@sfbulk/testing`'s layers; `require()`s the packages from CommonJS;
 * - runs the packed CLI from a project without TypeScript tooling: `--help`, and an import of a
 *   small CSV into the packed emulator.
 * Exits non-zero with what failed. `KEEP_CONSUMER=1` keeps the temp dir for a look.
 */
import { execFile, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const repo = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const fixtures = Path.join(repo, "scripts", "consumer")
/** Public packages, in dependency order; the names of modules that are not subpath exports. */
const PACKAGES: ReadonlyArray<{ readonly dir: string; readonly notExported: ReadonlyArray<string> }> = [
  { dir: "csv", notExported: [] },
  { dir: "emulator", notExported: ["bin"] },
  { dir: "client", notExported: [] },
  { dir: "testing", notExported: [] },
  { dir: "cli", notExported: ["bin", "demo"] }
]

const started = Date.now()
const step = (name: string) => console.log(`[consumer ${((Date.now() - started) / 1000).toFixed(1)}s] ${name}`)
const fail = (message: string): never => {
  throw new Error(message)
}
const check = (ok: boolean, message: string) => {
  if (!ok) fail(message)
}
const run = (cmd: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv = process.env): string => {
  try {
    return execFileSync(cmd, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 })
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string }
    return fail(`${cmd} ${args.join(" ")} (in ${cwd}) failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`)
  }
}
/** `run` without blocking, so that independent steps overlap (npm installs wait on the network). */
const runAsync = (cmd: string, args: ReadonlyArray<string>, cwd: string): Promise<string> =>
  promisify(execFile)(cmd, args, { cwd, encoding: "utf8", maxBuffer: 64 << 20 }).then(
    (r) => r.stdout,
    (e: { stdout?: string; stderr?: string }) => fail(`${cmd} ${args.join(" ")} (in ${cwd}) failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`)
  )
const readJson = (path: string): any => JSON.parse(Fs.readFileSync(path, "utf8"))
const version = (name: string): string => readJson(Path.join(repo, "node_modules", name, "package.json")).version

const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-consumer-"))
const tarballs = Path.join(tmp, "tarballs")
const children: Array<import("node:child_process").ChildProcess> = []

/** Builds (the `prepack` script) and packs one package; resolves to the tarball's path. */
const pack = (dir: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn("pnpm", ["pack", "--pack-destination", tarballs], {
      cwd: Path.join(repo, "packages", dir),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (out += d))
    child.on("close", (code) => {
      const name = `sfbulk-${dir}-${readJson(Path.join(repo, "packages", dir, "package.json")).version}.tgz`
      if (code === 0 && Fs.existsSync(Path.join(tarballs, name))) resolve(Path.join(tarballs, name))
      else reject(new Error(`pnpm pack in packages/${dir} failed:\n${out}`))
    })
  })

/** What a tarball must and must not hold, and that its manifest is publishable. */
const inspect = (dir: string, notExported: ReadonlyArray<string>, tarball: string) => {
  const entries = run("tar", ["tzf", tarball], tmp).split("\n").filter(Boolean).map((e) => e.replace(/^package\//, ""))
  const has = (p: string) => entries.includes(p)
  for (const e of entries) {
    check(!/^(test|scripts|bin)\//.test(e) && !/(^|\/)tsconfig[^/]*\.json$/.test(e), `${dir}: the tarball holds ${e}`)
    // src/ ships for the maps (go to definition lands in the TypeScript source), tests do not
    check(!e.startsWith("src/") || (e.endsWith(".ts") && !e.endsWith(".test.ts")), `${dir}: the tarball holds ${e}`)
  }
  // every declaration has a declaration map, and every map's sources are in the tarball
  const unpacked = Path.join(tmp, "unpacked", dir)
  Fs.mkdirSync(unpacked, { recursive: true })
  run("tar", ["xzf", tarball, "-C", unpacked, "--strip-components=1"], tmp)
  for (const e of entries.filter((e) => e.startsWith("dist/") && e.endsWith(".d.ts"))) {
    check(has(`${e}.map`), `${dir}: ${e} has no declaration map (${e}.map)`)
  }
  for (const e of entries.filter((e) => e.endsWith(".map"))) {
    const map = readJson(Path.join(unpacked, e))
    for (const source of map.sources as Array<string>) {
      const resolved = Path.posix.normalize(Path.posix.join(Path.posix.dirname(e), map.sourceRoot ?? "", source))
      check(has(resolved), `${dir}: ${e} points at ${source}, which is not in the tarball`)
    }
  }
  for (const p of ["package.json", "LICENSE", "README.md", "CHANGELOG.md", "dist/index.js", "dist/index.d.ts"]) {
    check(has(p), `${dir}: the tarball lacks ${p}`)
  }
  const manifest = JSON.parse(run("tar", ["xzf", tarball, "-O", "package/package.json"], tmp))
  for (const field of ["license", "repository", "engines", "sideEffects", "exports"]) {
    check(manifest[field] !== undefined, `${dir}: package.json lacks "${field}"`)
  }
  const deps = { ...manifest.dependencies, ...manifest.peerDependencies }
  for (const [name, range] of Object.entries(deps)) {
    check(!String(range).startsWith("workspace:"), `${dir}: dependency ${name} is still ${range}`)
  }
  check(JSON.stringify(manifest.exports).includes("./dist/"), `${dir}: exports still point at the sources`)
  for (const target of Object.values(manifest.bin ?? {}) as Array<string>) {
    check(has(target.replace(/^\.\//, "")), `${dir}: bin ${target} is not in the tarball`)
  }
  // every public module of src/ is a subpath export with JavaScript and types
  const modules = Fs.readdirSync(Path.join(repo, "packages", dir, "src"))
    .filter((f) => f.endsWith(".ts") && f !== "index.ts")
    .map((f) => f.slice(0, -3))
    .filter((m) => !notExported.includes(m))
  for (const m of modules) {
    check(has(`dist/${m}.js`) && has(`dist/${m}.d.ts`), `${dir}: module ${m} is not built into the tarball`)
  }
  return { name: manifest.name as string, manifest, modules }
}

const npmInstall = (cwd: string) => runAsync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", "--no-package-lock"], cwd)

/** Starts the installed `sfbulk-emulator` bin and resolves to its connection facts. */
const startEmulator = (cwd: string): Promise<{ instanceUrl: string; accessToken: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(Path.join(cwd, "node_modules", ".bin", "sfbulk-emulator"), ["--port", "0", "--latency", "5"], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.push(child)
    let out = ""
    child.stdout.on("data", (d) => {
      out += d
      const line = out.split("\n")[0]!
      if (out.includes("\n")) {
        try {
          resolve(JSON.parse(line))
        } catch {
          reject(new Error(`sfbulk-emulator printed ${line}`))
        }
      }
    })
    child.stderr.on("data", (d) => (out += d))
    child.on("close", (code) => reject(new Error(`sfbulk-emulator exited with ${code}:\n${out}`)))
  })

const main = async () => {
  console.log(`[consumer] temp dir ${tmp}`)
  step("build and pack (pnpm pack runs each package's build)")
  Fs.mkdirSync(tarballs)
  const packed = new Map<string, string>()
  // two at a time (the builds are tsc processes; CI has two cores), the longest first
  const queue = ["cli", "testing", "client", "emulator", "csv"]
  const worker = async (): Promise<void> => {
    const dir = queue.shift()
    if (dir === undefined) return
    packed.set(dir, await pack(dir))
    return worker()
  }
  await Promise.all([worker(), worker()])

  step("inspect the tarballs")
  const infos = PACKAGES.map((p) => ({ ...p, tarball: packed.get(p.dir)!, ...inspect(p.dir, p.notExported, packed.get(p.dir)!) }))
  const client = infos.find((i) => i.dir === "client")!
  check(
    !Object.keys({ ...client.manifest.dependencies, ...client.manifest.peerDependencies }).includes("@sfbulk/emulator"),
    "the client depends on the emulator"
  )
  const fileDeps = Object.fromEntries(infos.map((i) => [i.name, `file:${i.tarball}`]))

  step("npm install the tarballs into a TypeScript consumer, and the CLI into a project without TypeScript tooling")
  const app = Path.join(tmp, "app")
  Fs.cpSync(fixtures, app, { recursive: true, filter: (src) => !src.endsWith(".csv") })
  // every public subpath, imported by name: each must resolve, with types, under both resolutions
  const subpaths = infos.flatMap((i) => i.modules.map((m) => `${i.name}/${m}`))
  Fs.writeFileSync(
    Path.join(app, "src", "subpaths.ts"),
    subpaths.map((s, n) => `export * as M${n} from "${s}"`).join("\n") + "\n"
  )
  Fs.writeFileSync(
    Path.join(app, "require-all.cjs"),
    `for (const s of ${JSON.stringify(["@sfbulk/client", "@sfbulk/testing", "@sfbulk/emulator", "@sfbulk/csv", ...subpaths])}) {\n` +
      `  const m = require(s)\n  if (Object.keys(m).length === 0) throw new Error("require(" + s + ") is empty")\n}\n` +
      // the client's internals are closed to imports (BulkClientKit is the public way in)
      `try {\n  require("@sfbulk/client/internal/rows")\n  throw new Error("@sfbulk/client/internal/rows is importable")\n} catch (e) {\n` +
      `  if (e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e\n}\n` +
      `console.log("required")\n`
  )
  Fs.writeFileSync(
    Path.join(app, "package.json"),
    JSON.stringify(
      {
        name: "sfbulk-consumer",
        private: true,
        type: "module",
        dependencies: {
          ...fileDeps,
          "@effect/platform": version("@effect/platform"),
          "@effect/platform-node": version("@effect/platform-node"),
          effect: version("effect")
        },
        devDependencies: {
          typescript: version("typescript"),
          "@types/node": version("@types/node"),
          vitest: version("vitest"),
          "@effect/vitest": version("@effect/vitest")
        }
      },
      null,
      2
    )
  )
  const cli = Path.join(tmp, "cli")
  Fs.mkdirSync(cli)
  Fs.writeFileSync(
    Path.join(cli, "package.json"),
    JSON.stringify(
      {
        name: "sfbulk-cli-user",
        private: true,
        dependencies: Object.fromEntries(Object.entries(fileDeps).filter(([n]) => n !== "@sfbulk/testing"))
      },
      null,
      2
    )
  )
  await Promise.all([npmInstall(app), npmInstall(cli)])

  step("type-check the consumer: NodeNext (declaration: true, skipLibCheck: false), Bundler (no @types/node), node10")
  const tsc = Path.join(app, "node_modules", "typescript", "bin", "tsc")
  const [, listed] = await Promise.all([
    runAsync(process.execPath, [tsc, "-p", "tsconfig.nodenext.json"], app),
    runAsync(process.execPath, [tsc, "-p", "tsconfig.bundler.json", "--listFiles"], app),
    // old node10 resolution: the package roots (through `main` and `types`)
    runAsync(process.execPath, [tsc, "-p", "tsconfig.node10.json"], app)
  ])
  const files = listed.split("\n")
  const leaked = files.filter((f) => f.includes("/@sfbulk/emulator/") || f.includes("/@types/node/"))
  check(leaked.length === 0, `the client's types pull in ${leaked.slice(0, 3).join(", ")}`)
  check(Fs.existsSync(Path.join(app, "out-bundler", "load.d.ts")), "no declarations were emitted under Bundler resolution")

  // effect is a peer dependency everywhere: the application holds one copy (one runtime, one set of tags)
  const copies = run("npm", ["ls", "effect", "--all", "--parseable"], app).split("\n").filter(Boolean)
  check(new Set(copies).size === 1, `the consumer holds ${new Set(copies).size} copies of effect:\n${copies.join("\n")}`)

  step("run the consumer against the packed emulator")
  const result = JSON.parse(run(process.execPath, ["out/main.js"], app).trim().split("\n").pop()!)
  const want = JSON.stringify({
    succeeded: 2,
    rows: ["Consumer A:10", "Consumer B:null"],
    unknownObject: "ApiError INVALID_TYPE",
    empty: "InvalidInputError"
  })
  for (const [name, got] of Object.entries(result)) {
    check(JSON.stringify(got) === want, `${name}: expected ${want}, got ${JSON.stringify(got)}`)
  }
  check(run(process.execPath, ["out/require.cjs"], app) === "", "require.cts printed something")
  check(run(process.execPath, ["require-all.cjs"], app).includes("required"), "require() of the packages failed")

  step("vitest in the consumer: @sfbulk/testing's layers under @effect/vitest's it.effect")
  run(process.execPath, [Path.join(app, "node_modules", "vitest", "vitest.mjs"), "run", "--dir", "test", "--testTimeout", "30000"], app)

  for (const tool of ["typescript", "tsx", "esbuild", "ts-node"]) {
    check(!Fs.existsSync(Path.join(cli, "node_modules", tool)), `the CLI's install brought in ${tool}`)
  }
  const sfbulk = Path.join(cli, "node_modules", ".bin", "sfbulk")
  step("sfbulk --help")
  check(run(sfbulk, ["--help"], cli).includes("USAGE"), "sfbulk --help printed no usage")
  // `npx <bin>` outside a project that installed the package asks the registry for a package named
  // like the bin (unscoped `sfbulk-emulator`: not ours); the READMEs give the `-p @sfbulk/...` form
  for (const readme of ["README.md", ...PACKAGES.map((p) => `packages/${p.dir}/README.md`)]) {
    const bare = Fs.readFileSync(Path.join(repo, readme), "utf8").match(/npx (sfbulk|sfbulk-emulator)\b/)
    check(bare === null, `${readme}: "${bare?.[0]}" runs an unscoped registry package; write npx -p @sfbulk/<package> <bin>`)
  }
  step("npx -p <the emulator> sfbulk-emulator --help, from an empty directory")
  const empty = Path.join(tmp, "empty")
  Fs.mkdirSync(empty)
  const emulatorTarball = infos.find((i) => i.dir === "emulator")!.tarball
  const csvTarball = infos.find((i) => i.dir === "csv")!.tarball
  const npxHelp = await runAsync("npx", ["-y", "-p", emulatorTarball, "-p", csvTarball, "sfbulk-emulator", "--help"], empty)
  check(npxHelp.startsWith("Usage: sfbulk-emulator "), `npx -p @sfbulk/emulator sfbulk-emulator --help printed ${npxHelp.split("\n")[0]}`)
  step("sfbulk-emulator --help")
  const emulatorHelp = run(Path.join(cli, "node_modules", ".bin", "sfbulk-emulator"), ["--help"], cli)
  check(emulatorHelp.startsWith("Usage: sfbulk-emulator "), `sfbulk-emulator --help names another command:\n${emulatorHelp.split("\n")[0]}`)
  step("sfbulk import of a small CSV into the packed emulator (sfbulk-emulator)")
  const emulator = await startEmulator(cli)
  Fs.copyFileSync(Path.join(fixtures, "cli-import.csv"), Path.join(cli, "accounts.csv"))
  const env = { ...process.env, SF_INSTANCE_URL: emulator.instanceUrl, SF_ACCESS_TOKEN: emulator.accessToken }
  const summary = JSON.parse(run(sfbulk, ["import", "Account", "--file", "accounts.csv", "--json", "--quiet"], cli, env))
  check(summary.ok === true && summary.succeeded === 2 && summary.failed === 0, `sfbulk import: ${JSON.stringify(summary)}`)
  const exported = run(sfbulk, ["export", "SELECT Name FROM Account WHERE Name LIKE 'CLI Consumer%'", "--quiet"], cli, env)
  check(exported.includes("CLI Consumer A") && exported.includes("CLI Consumer B"), `sfbulk export printed ${exported}`)
}

main().then(
  () => step("ok"),
  (e: unknown) => {
    console.error(`[consumer] FAILED: ${e instanceof Error ? e.message : String(e)}`)
    process.exitCode = 1
  }
).finally(() => {
  for (const child of children) child.kill()
  if (process.env.KEEP_CONSUMER === "1") console.log(`[consumer] kept ${tmp}`)
  else Fs.rmSync(tmp, { recursive: true, force: true })
})
