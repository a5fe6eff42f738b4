/**
 * Command-line tweaks before `@effect/cli` parses it.
 */

// Flags whose value may be left out, and the value they then take.
const OPTIONAL_VALUE: Readonly<Record<string, string>> = { "--pk-chunking": "100000", "--parallel": "4" }

/** Inserts the default value after a bare `--pk-chunking` / `--parallel`. */
export const normalize = (argv: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    out.push(arg)
    const fallback = OPTIONAL_VALUE[arg]
    if (fallback !== undefined && !/^\d+$/.test(argv[i + 1] ?? "")) out.push(fallback)
  }
  return out
}
