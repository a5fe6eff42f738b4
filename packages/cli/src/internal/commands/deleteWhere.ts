/**
 * `sfbulk delete|hard-delete <Object> --where "<condition>"`: delete the records a SOQL condition
 * selects. A bulk query (`SELECT Id FROM <Object> WHERE <condition>`) streams the ids into a
 * private spool file (constant memory: no id is held), then the spool goes through the ordinary
 * delete path (`Ingest.run`): the same journal, so `sfbulk resume --journal` deletes exactly the
 * set that was queried, not a fresh query's; the same result files; the same exit codes.
 * `--dry-run` counts and stops; without `--yes` a terminal asks for confirmation showing the count.
 */
import { BulkClient, BulkError } from "@sfbulk/client"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Readline from "node:readline"
import { UsageError } from "../errors.js"
import { writeText } from "../output.js"
import * as Progress from "../progress.js"
import * as Recovery from "../recovery.js"
import { printJson, printText } from "../report.js"
import * as Ingest from "./ingest.js"

/** The flags only delete by query has. */
export interface WhereFlags {
  /** The SOQL condition (what follows WHERE). */
  readonly where: string
  readonly dryRun: boolean
  readonly yes: boolean
  readonly async: boolean
}

/** What `sfbulk delete` shows as the command for `operation`. */
const verb = (a: Ingest.IngestArgs) => (a.operation === "hardDelete" ? "hard-delete" : "delete")

const OBJECT = /^[A-Za-z][A-Za-z0-9_]*$/

/** The query whose ids are deleted. */
export const idQuery = (object: string, where: string): string => `SELECT Id FROM ${object} WHERE ${where.trim()}`

/** Where result files go by default: the working directory (the spooled ids live in the private state directory). */
const resultsDir = (a: Ingest.IngestArgs): string => Option.getOrElse(a.resultsDir, () => process.cwd())

/**
 * Checks, before logging in: the object name, the condition, flags that do not go with `--where`,
 * and that someone can confirm (a terminal) unless `--yes` or `--dry-run`.
 */
export const precheck = (
  a: Ingest.IngestArgs,
  w: WhereFlags,
  fileGiven: boolean
): Effect.Effect<void, UsageError | BulkError.InvalidInputError> =>
  Effect.gen(function*() {
    if (fileGiven) {
      return yield* new UsageError({ message: `give either --file ids.csv or --where "<condition>", not both` })
    }
    if (w.async) {
      return yield* new UsageError({
        message: "--where waits for its query and delete: drop --async (an interrupted run is finished with sfbulk resume --journal)"
      })
    }
    if (Option.isSome(a.journal)) {
      return yield* new UsageError({
        message:
          "--journal does not go with --where: a delete by query keeps its own journal (an interrupted run prints the sfbulk resume --journal command to finish it)"
      })
    }
    if (!OBJECT.test(a.object)) {
      return yield* new BulkError.InvalidInputError({
        what: `${
          JSON.stringify(a.object)
        } is not an sObject API name (letters, digits and underscores, e.g. Account or My_Object__c): nothing was sent`
      })
    }
    const where = w.where.trim()
    if (where.length === 0 || /^where\b/i.test(where)) {
      return yield* new BulkError.InvalidInputError({
        what: where.length === 0
          ? `--where is empty: give the condition that selects the records, e.g. --where "Name LIKE 'Test%'"; nothing was sent`
          : `--where takes the condition only, without the word WHERE (got ${JSON.stringify(where)}); nothing was sent`
      })
    }
    if (!w.dryRun && !w.yes && process.stdin.isTTY !== true) {
      return yield* new UsageError({
        message: `${verb(a)} --where asks for confirmation, but standard input is not a terminal: pass --yes to delete without asking ` +
          `(or --dry-run to only count the records); nothing was sent`
      })
    }
    yield* Recovery.checkWritableDir(resultsDir(a), "the results directory")
  })

/** Asks on the terminal; true only for y or yes. */
const confirm = (question: string): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const rl = Readline.createInterface({ input: process.stdin, output: process.stderr })
    let answered = false
    rl.question(question, (answer) => {
      answered = true
      rl.close()
      resume(Effect.succeed(/^\s*y(es)?\s*$/i.test(answer)))
    })
    // Ctrl-D: no answer is a no
    rl.on("close", () => {
      if (!answered) resume(Effect.succeed(false))
    })
    return Effect.sync(() => rl.close())
  })

const stamp = () => new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")

/** Whether a journal in the state directory still names `spool` as its input (a resume will need it). */
const journaled = (spool: string): boolean => {
  const dir = Path.dirname(spool)
  try {
    return Fs.readdirSync(dir).some((n) =>
      n.endsWith(".jsonl") && Fs.readFileSync(Path.join(dir, n), "utf8").includes(JSON.stringify(spool))
    )
  } catch {
    return false
  }
}

/** Runs delete by query (after {@link precheck}). */
export const run = (a: Ingest.IngestArgs, w: WhereFlags) =>
  Effect.gen(function*() {
    const client = yield* BulkClient.BulkClient
    const soql = idQuery(a.object, w.where)
    const what = a.operation === "hardDelete" ? "permanently" : "to the recycle bin"
    // --wait bounds the delete, not the query: a query left running would leave nothing to resume
    const options: BulkClient.QueryOptions = { api: a.api }
    const progress = Progress.reporter(Progress.modeFor(a), `query ${a.object} ids`)
    let count = 0
    const ids = client.query(soql, options).pipe(
      Stream.mapChunks((chunk) => {
        count += chunk.length
        progress.rows(count)
        return chunk
      }),
      Stream.ensuring(Effect.sync(() => progress.done()))
    )
    if (w.dryRun) {
      yield* Stream.runDrain(ids)
      const summary = { ok: true, command: verb(a), dryRun: true, object: a.object, query: soql, matched: count, exitCode: 0 }
      if (a.json) printJson(summary)
      else {
        printText(
          a,
          `${count.toLocaleString("en-US")} ${a.object} record(s) match ${JSON.stringify(w.where.trim())}: ` +
            `dry run, nothing deleted (without --dry-run they would be deleted ${what})`
        )
      }
      return
    }
    // The ids are spooled in the private state directory (0700; the file 0600): a resume of the
    // delete reads exactly them again. Recovery removes the spool with the journal once finished.
    const dir = Recovery.stateDir()
    yield* Effect.try({
      try: () => {
        Fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
        Fs.chmodSync(dir, 0o700)
      },
      catch: (e) =>
        new BulkError.InvalidInputError({
          what: `cannot create the state directory ${dir} for the queried ids: ${(e as Error).message}. Set ${Recovery.STATE_DIR_ENV}`
        })
    })
    const spool = Path.join(dir, `${stamp()}-${a.object}-${process.pid}${Recovery.QUERY_IDS_SUFFIX}`)
    const removeSpool = Effect.sync(() => Fs.rmSync(spool, { force: true }))
    const lines = Stream.concat(
      Stream.make("Id\n"),
      Stream.mapChunks(ids, (chunk) => {
        let text = ""
        for (const row of chunk) text += `${row["Id"] ?? ""}\n`
        return text.length === 0 ? Chunk.empty<string>() : Chunk.of(text)
      })
    )
    yield* writeText(spool, lines).pipe(
      Effect.zipRight(Effect.try({
        try: () => Fs.chmodSync(spool, 0o600),
        catch: (e) => new BulkError.InvalidInputError({ what: `cannot protect ${spool}: ${(e as Error).message}` })
      })),
      Effect.onError(() => removeSpool)
    )
    if (count === 0) {
      yield* removeSpool
      if (a.json) printJson({ ok: true, command: verb(a), object: a.object, query: soql, matched: 0, exitCode: 0 })
      else printText(a, `no ${a.object} record matches ${JSON.stringify(w.where.trim())}: nothing to delete`)
      return
    }
    if (!w.yes) {
      const yes = yield* confirm(`Delete ${count.toLocaleString("en-US")} ${a.object} record(s) ${what}? [y/N] `)
      if (!yes) {
        yield* removeSpool
        return yield* new UsageError({ message: "not confirmed: nothing was deleted (pass --yes to skip the question)" })
      }
    }
    // the spool is UTF-8 with commas whatever --encoding/--delimiter say (they describe input files)
    yield* Ingest.run({ ...a, file: spool, resultsDir: Option.some(resultsDir(a)), encoding: undefined, delimiter: undefined }).pipe(
      // finished (the journal's removal took the spool with it), or stopped with the journal kept
      // (the spool stays for the resume): only a spool no journal names is left to remove here
      Effect.ensuring(Effect.suspend(() => (Fs.existsSync(spool) && !journaled(spool) ? removeSpool : Effect.void)))
    )
  })
