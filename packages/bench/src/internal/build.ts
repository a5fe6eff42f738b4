/**
 * Builds each client's workload entry (`src/workloads/*.ts` and the workspace code they import) into one ESM file each
 * with esbuild, so a measured process loads plain JavaScript: running it under tsx would add about
 * 0.5 s of CPU and 35 MB of RSS to every process for on-the-fly compilation. npm packages stay
 * external and load from node_modules as they would in a user's app.
 */
import { build } from "esbuild"
import { join } from "node:path"
import { benchDir, srcDir } from "./paths.js"
import type { ClientName } from "./spec.js"

const outdir = join(benchDir, ".build")

/** Build one entry per client (`.build/floor.mjs`, `jsforce.mjs`, `sfbulk.mjs`); resolves with the paths. */
export const buildChildren = async (): Promise<Record<ClientName, string>> => {
  const clients: Array<ClientName> = ["floor", "jsforce", "sfbulk"]
  await build({
    entryPoints: clients.map((c) => join(srcDir, "workloads", `${c}.ts`)),
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    sourcemap: "linked",
    logLevel: "warning",
    // Workspace packages (TypeScript sources) are bundled; npm packages load from node_modules.
    external: ["effect", "effect/*", "@effect/*", "jsforce", "jsforce/*", "csv-parse", "csv-parse/*", "csv-stringify", "csv-stringify/*"],
    // jsforce is CommonJS: give the bundle a `require` for any transitive CJS interop.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
  })
  return { floor: join(outdir, "floor.mjs"), jsforce: join(outdir, "jsforce.mjs"), sfbulk: join(outdir, "sfbulk.mjs") }
}
