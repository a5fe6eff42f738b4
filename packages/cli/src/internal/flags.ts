/**
 * Flags shared by several commands.
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Either from "effect/Either"
import * as Dur from "./duration.js"

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/** `--json`, `--quiet`. */
export const output = {
  json: Options.boolean("json").pipe(
    Options.withDescription(
      "Print one machine-readable JSON object on stdout instead of the text summary (progress becomes plain lines on stderr)"
    )
  ),
  quiet: Options.boolean("quiet").pipe(Options.withAlias("q"), Options.withDescription("No progress and no summary text")),
  verbose: Options.boolean("verbose").pipe(Options.withDescription("On failure, also print the full error cause (for bug reports)"))
}

/** `--api 1|2` as the client's version string. */
export const api = Options.choice("api", ["1", "2", "1.0", "2.0"]).pipe(
  Options.withDescription("Bulk API generation: 2 (default) or 1"),
  Options.withDefault("2" as const),
  Options.map((v): "1.0" | "2.0" => (v.startsWith("1") ? "1.0" : "2.0"))
)

/** A duration flag (`90`, `30s`, `10m`, `1h30m`). */
export const duration = (name: string, description: string) =>
  Options.text(name).pipe(
    Options.withDescription(description),
    Options.mapEffect((text) =>
      Either.fromOption(Dur.parse(text), () => invalid(`--${name} expects a duration such as 90, 30s, 10m or 1h30m (got "${text}")`))
    ),
    Options.optional
  )

/** `--wait <duration>`: how long to wait for the job(s) before leaving them running. */
export const wait = duration(
  "wait",
  "Stop waiting after this long (e.g. 30s, 10m); the job keeps running: finish it later with `sfbulk resume <job-id>`"
)

/** Result files: `--results-dir`, `--no-formula-guard`, `--allow-partial`. */
export const results = {
  resultsDir: Options.text("results-dir").pipe(
    Options.withDescription(
      "Where to write <job>-success.csv, <job>-failed.csv and <job>-unprocessed.csv (default: beside the input file)"
    ),
    Options.optional
  ),
  noFormulaGuard: Options.boolean("no-formula-guard").pipe(
    Options.withDescription(
      "Write cells starting with = + - @ as they are (by default they get a leading ' so spreadsheets do not run them)"
    )
  ),
  allowPartial: Options.boolean("allow-partial").pipe(
    Options.withDescription("Exit 0 even when some rows failed or were not processed")
  )
}

/** A positive integer flag. */
export const positive = (name: string, description: string) =>
  Options.integer(name).pipe(
    Options.withDescription(description),
    Options.mapEffect((n) => (n >= 1 ? Either.right(n) : Either.left(invalid(`--${name} must be at least 1 (got ${n})`)))),
    Options.optional
  )
