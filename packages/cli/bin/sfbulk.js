#!/usr/bin/env node
// Workspace launcher for `sfbulk` (`pnpm sfbulk`; the published package runs dist/sfbulk.js instead).
// The workspace has no build step, so the TypeScript sources run directly: on first use (and after
// any source change) they are bundled with esbuild into a cached single file, which starts several
// times faster than compiling module by module. If bundling is not possible, or SFBULK_NO_BUNDLE=1,
// the sources run through tsx's loader instead.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { bundle, entry } from "./bundle.js"

const here = Path.dirname(fileURLToPath(import.meta.url))

// Newest modification time of the sources the CLI is made of (and of the lockfile).
const newest = () => {
  const packages = Path.resolve(here, "../..")
  let max = 0
  const walk = (dir) => {
    for (const e of Fs.readdirSync(dir, { withFileTypes: true })) {
      const p = Path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith(".ts") || e.name.endsWith(".json")) max = Math.max(max, Fs.statSync(p).mtimeMs)
    }
  }
  for (const pkg of ["cli", "client", "emulator", "csv"]) {
    const src = Path.join(packages, pkg, "src")
    if (Fs.existsSync(src)) walk(src)
    const manifest = Path.join(packages, pkg, "package.json")
    if (Fs.existsSync(manifest)) max = Math.max(max, Fs.statSync(manifest).mtimeMs)
  }
  const lock = Path.resolve(packages, "../pnpm-lock.yaml")
  if (Fs.existsSync(lock)) max = Math.max(max, Fs.statSync(lock).mtimeMs)
  return Math.floor(max)
}

const bundled = async () => {
  const cacheDir = Path.resolve(here, "../node_modules/.cache/sfbulk")
  const out = Path.join(cacheDir, `sfbulk-${newest()}.mjs`)
  if (!Fs.existsSync(out)) {
    const esbuild = await import("esbuild")
    Fs.mkdirSync(cacheDir, { recursive: true })
    const tmp = `${out}.${process.pid}.tmp`
    await bundle(esbuild, tmp)
    Fs.renameSync(tmp, out)
    for (const old of Fs.readdirSync(cacheDir)) {
      if (old.startsWith("sfbulk-") && Path.join(cacheDir, old) !== out && !old.endsWith(".tmp")) {
        Fs.rmSync(Path.join(cacheDir, old), { force: true })
      }
    }
  }
  return out
}

let target
if (process.env.SFBULK_NO_BUNDLE !== "1") {
  try {
    target = await bundled()
  } catch {
    target = undefined
  }
}
if (target !== undefined) {
  await import(pathToFileURL(target).href)
} else {
  const { register } = await import("tsx/esm/api")
  register()
  await import(pathToFileURL(entry).href)
}
