// One way to turn the CLI's TypeScript sources into a single JavaScript file: used by the workspace
// launcher (cached bundle, rebuilt when a source changes) and by the package build
// (`dist/sfbulk.js`, what the published `sfbulk` bin runs with Node alone).
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** The executable's entry point. */
export const entry = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../src/bin.ts")

/**
 * Bundles `entry` and every dependency into `outfile` (ESM for Node 20). `esbuild` is passed in:
 * the launcher and the build find it in different places.
 */
export const bundle = (esbuild, outfile, { shebang = false } = {}) =>
  esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    logLevel: "silent",
    // dependencies written as CommonJS call `require`, which an ES module lacks
    banner: {
      js: `${shebang ? "#!/usr/bin/env node\n" : ""}import { createRequire as __sfbulkRequire } from 'node:module'; const require = __sfbulkRequire(import.meta.url);`
    }
  })
