// `pnpm build` step: bundles the executable into dist/sfbulk.js (the published package's bin).
import * as esbuild from "esbuild"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { bundle } from "./bundle.js"

const outfile = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../dist/sfbulk.js")
await bundle(esbuild, outfile, { shebang: true })
Fs.chmodSync(outfile, 0o755)
