/**
 * Vitest global setup: every test process (and every process a test starts) gets a private temp
 * directory through TMPDIR, removed when the run ends. Tests that kill a client on purpose
 * (SIGKILL mid-upload, then resume) leave its spool files behind by design, and fixtures of some
 * tests outlive them; without this, each `pnpm test` left about 25 `sfbulk-*` directories in the
 * machine's temp dir, some holding test rows, and a test counting what the client leaves in the
 * temp dir could see another program's directories.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

export default function setup(): () => void {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-tests-"))
  const saved = process.env.TMPDIR
  // os.tmpdir() reads TMPDIR at each call; forked test processes inherit it
  process.env.TMPDIR = dir
  return () => {
    if (saved === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = saved
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}
