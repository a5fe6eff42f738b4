/**
 * The `sfbulk` command tree (built with `@effect/cli`) and `run`, which executes a command line and
 * turns every outcome into an exit code and a one-line "what to do" message.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { BulkClient, Transport } from "@sfbulk/client"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { ExitCode, fromTag } from "./ExitCode.js"
import * as EmulatorCmd from "./internal/commands/emulator.js"
import * as DeleteWhere from "./internal/commands/deleteWhere.js"
import * as Export from "./internal/commands/export.js"
import * as Ingest from "./internal/commands/ingest.js"
import * as Jobs from "./internal/commands/jobs.js"
import * as LimitsCmd from "./internal/commands/limits.js"
import * as Recovery from "./internal/recovery.js"
import * as Connection from "./internal/connection.js"
import * as Argv from "./internal/argv.js"
import * as Flags from "./internal/flags.js"
import { UsageError } from "./internal/errors.js"
import { adviseResume, hint, messageFor } from "./internal/hints.js"
import * as Input from "./internal/input.js"
import { rootHelp } from "./internal/rootHelp.js"

const help = (summary: string, ...examples: ReadonlyArray<string>): HelpDoc.HelpDoc =>
  HelpDoc.blocks([
    HelpDoc.p(summary),
    HelpDoc.p(examples.length > 1 ? "Examples:" : "Example:"),
    ...examples.map((e) => HelpDoc.p(`  $ ${e}`))
  ])

// One transport (auth, retries, renewal) shared by the high-level client and the low-level job calls.
const withClient = <A, E>(conn: Connection.Connection, effect: Effect.Effect<A, E, BulkClient.BulkClient | Transport.Transport>) =>
  Effect.provide(
    effect,
    Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(
      Layer.provideMerge(Transport.layer()),
      Layer.provide(Connection.authLayer(conn))
    )
  ).pipe(
    // sfbulk cannot renew a session taken from `sf` (sf keeps the refresh token): the advice names the sf login
    Effect.tapError((e) =>
      Effect.sync(() => {
        const tagged = e as { readonly _tag?: string }
        if (Option.isNone(conn.targetOrg) || Connection.describesItself(e)) return
        const org = conn.targetOrg.value
        if (tagged._tag === "SessionExpiredError") {
          adviseResume(e, `The session from the Salesforce CLI expired: ${Connection.loginAgain(org)}.`)
        } else if (tagged._tag === "TransportError") {
          adviseResume(e, `Check the network; the instance URL is the one \`sf org display --target-org ${org}\` reports.`)
        }
      })
    )
  )

// ---------------------------------------------------------------------------------------------
// ingest
// ---------------------------------------------------------------------------------------------

const badValue = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/** `--delimiter`: a character Salesforce accepts, or its name. */
const delimiterFlag = (description: string) =>
  Options.text("delimiter").pipe(
    Options.withDescription(description),
    Options.mapEffect((v) => {
      const d = Input.delimiterOf(v)
      return d === undefined
        ? Either.left(
          badValue(`--delimiter takes , ; | ^ \` or tab, or comma, semicolon, tab, pipe, caret, backquote (got ${JSON.stringify(v)})`)
        )
        : Either.right(d)
    }),
    Options.optional,
    Options.map(Option.getOrUndefined)
  )

/** `--encoding`, `--delimiter` of the input file. */
const readFlags = {
  encoding: Options.text("encoding").pipe(
    Options.withDescription(
      "The input file's encoding (any WHATWG label: windows-1252 for Excel \"CSV (Windows)\", iso-8859-1, utf-16le, shift_jis, ...). " +
        "Default utf-8; a UTF-8 or UTF-16 byte-order mark decides by itself. What is uploaded is always UTF-8"
    ),
    Options.mapEffect((v) =>
      Input.isEncoding(v)
        ? Either.right(v)
        : Either.left(badValue(`--encoding: ${JSON.stringify(v)} names no encoding (try utf-8, windows-1252, iso-8859-1, utf-16le)`))
    ),
    Options.optional,
    Options.map(Option.getOrUndefined)
  ),
  delimiter: delimiterFlag(
    "The input's column delimiter: , ; | ^ ` or tab (or comma, semicolon, tab, pipe, caret, backquote). " +
      "Default: read off the header line (refused when it holds several)"
  )
}

const optionalText = (name: string, description: string) =>
  Options.text(name).pipe(Options.withDescription(description), Options.optional, Options.map(Option.getOrUndefined))

/** `--mapping`, `--date-format`, `--time-zone`, `--date-fields`, `--insert-nulls` (see internal/transform.ts). */
const transformFlags = {
  mapping: optionalText(
    "mapping",
    "Rename CSV columns to fields: a Data Loader .sdl file (CsvColumn=Field, \"constant\"=Field, CsvColumn= drops the column) " +
      "or a .csv of csv column,field rows. Every CSV column must be mapped or dropped. Lookups: Parent.Ext__c, " +
      "or Lead:Who.Email for a polymorphic one (Data Loader's Parent:Ext__c and Who:Lead-Email are read too)"
  ),
  dateFormat: optionalText(
    "date-format",
    "How the date cells write dates, e.g. dd/MM/yyyy or MM/dd/yyyy HH:mm; sent as yyyy-MM-dd, datetimes in UTC. " +
      "Applies to the object's date and datetime fields (read from Salesforce's describe), or to --date-fields"
  ),
  timeZone: optionalText("time-zone", "IANA time zone the --date-format datetimes are in (default: this machine's)"),
  dateFields: optionalText(
    "date-fields",
    "Fields holding dates, comma-separated: Field, Field:date or Field:datetime (default: datetime when --date-format has hours). " +
      "Optional: overrides the field types read from the object's describe"
  ),
  insertNulls: Options.boolean("insert-nulls").pipe(
    Options.withDescription(
      "An empty cell sets the field to null. Without it an empty cell leaves the field unchanged; #N/A always sets null"
    )
  )
}

const ingestOptions = {
  object: Args.text({ name: "object" }).pipe(Args.withDescription("sObject API name, e.g. Account or My_Object__c")),
  file: Options.text("file").pipe(
    Options.withAlias("f"),
    Options.withDescription("CSV file with a header row of field names (- reads standard input)")
  ),
  api: Flags.api,
  serial: Options.boolean("serial").pipe(
    Options.withDescription("Process one batch (1.0) or job (2.0) at a time: avoids lock contention on parent records")
  ),
  batchSize: Flags.positive("batch-size", "Records per batch (1.0, at most 10000) or per job (2.0)"),
  retryLockedRows: Flags.positive(
    "retry-locked-rows",
    "Re-submit rows that failed UNABLE_TO_LOCK_ROW in up to this many serial follow-up rounds (1-20; journaled, so resume goes on with them)"
  ).pipe(Options.map(Option.getOrUndefined)),
  orderByParent: optionalText(
    "order-by-parent",
    "Sort rows by parent before upload, so parallel batches contend less (sorted on disk, in bounded memory): auto (the object's lookups that lock their parent, from its describe) or a parent reference field (e.g. AccountId)"
  ),
  concurrency: Flags.positive("concurrency", "Jobs in flight (2.0) or batch uploads at once (1.0) (default 4)"),
  wait: Flags.wait,
  allowEmpty: Options.boolean("allow-empty").pipe(
    Options.withDescription("A file with a header and no rows does nothing and exits 0 (by default it is an input error, exit 6)")
  ),
  async: Options.boolean("async").pipe(
    Options.withDescription("Upload, print the job id and exit without waiting; finish with `sfbulk resume <job-id>`")
  ),
  ...readFlags,
  ...transformFlags,
  journal: Recovery.journalFlag,
  ...Flags.results,
  ...Flags.output,
  connection: Connection.options
}

/** `delete`/`hard-delete` by query: `--where`, `--dry-run`, `--yes` (and `--file` becomes optional). */
const whereOptions = {
  file: Options.text("file").pipe(
    Options.withAlias("f"),
    Options.withDescription("CSV file with a single Id column (- reads standard input); or select the records with --where"),
    Options.withDefault("")
  ),
  where: Options.text("where").pipe(
    Options.withDescription(
      `Delete the records this SOQL condition selects (SELECT Id FROM <object> WHERE <condition>), e.g. --where "Name LIKE 'Test%'"`
    ),
    Options.optional
  ),
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("With --where: print how many records match, delete nothing")),
  yes: Options.boolean("yes").pipe(
    Options.withDescription("With --where: delete without asking (needed when standard input is not a terminal)")
  )
}
const noWhere = {
  where: Options.none.pipe(Options.map(() => Option.none<string>())),
  dryRun: Options.none.pipe(Options.map(() => false)),
  yes: Options.none.pipe(Options.map(() => false))
}

/** `delete`/`hard-delete`: by `--where` (delete by query), else by `--file`; checked before logging in. */
const deleteBy = (
  args: Ingest.IngestArgs,
  a: {
    readonly where: Option.Option<string>
    readonly dryRun: boolean
    readonly yes: boolean
    readonly async: boolean
    readonly connection: Connection.Connection
  }
): Option.Option<Effect.Effect<void, unknown, never>> => {
  if (Option.isSome(a.where)) {
    const w = { where: a.where.value, dryRun: a.dryRun, yes: a.yes, async: a.async }
    return Option.some(Effect.zipRight(DeleteWhere.precheck(args, w, args.file !== ""), withClient(a.connection, DeleteWhere.run(args, w))))
  }
  if (a.dryRun || a.yes) {
    return Option.some(Effect.fail(new UsageError({ message: `--dry-run and --yes go with --where "<condition>" (delete by query)` })))
  }
  if (args.file === "") {
    return Option.some(
      Effect.fail(new UsageError({ message: `give --file ids.csv (a CSV with an Id column) or --where "<condition>" to delete by query` }))
    )
  }
  return Option.none()
}

const ingestCommand = (
  name: string,
  operation: BulkClient.Operation,
  summary: string,
  example: string,
  extra: { readonly externalId?: boolean; readonly where?: boolean } = {}
) =>
  Command.make(
    name,
    {
      ...ingestOptions,
      ...(extra.where ? whereOptions : { ...noWhere, file: ingestOptions.file }),
      externalId: extra.externalId
        ? Options.text("external-id").pipe(
          Options.withDescription("The External ID field (or Id) that matches rows to records"),
          Options.optional
        )
        : Options.none.pipe(Options.map(() => Option.none<string>()))
    },
    (a) => {
      const args: Ingest.IngestArgs = {
        command: name,
        operation,
        object: a.object,
        file: a.file,
        externalId: a.externalId,
        api: a.api,
        serial: a.serial,
        batchSize: a.batchSize,
        retryLockedRows: a.retryLockedRows,
        orderByParent: a.orderByParent,
        concurrency: a.concurrency,
        wait: a.wait,
        resultsDir: a.resultsDir,
        formulaGuard: !a.noFormulaGuard,
        allowPartial: a.allowPartial,
        allowEmpty: a.allowEmpty,
        encoding: a.encoding,
        delimiter: a.delimiter,
        journal: a.journal,
        mapping: a.mapping,
        transform: {
          dateFormat: a.dateFormat,
          timeZone: a.timeZone,
          dateFields: a.dateFields === undefined ? undefined : a.dateFields.split(","),
          insertNulls: a.insertNulls
        },
        json: a.json,
        quiet: a.quiet
      }
      const byWhere = extra.where ? deleteBy(args, a) : Option.none()
      if (Option.isSome(byWhere)) return byWhere.value
      // --async uploads one job and exits: flags that act while a run waits would be silently dropped
      const waitingOnly = [
        [Option.isSome(a.journal), "--journal (an --async run keeps no journal: finish it with sfbulk resume <job-id>)"],
        [Option.isSome(a.wait), "--wait (an --async run does not wait: give --wait to sfbulk resume <job-id>)"],
        [a.retryLockedRows !== undefined, "--retry-locked-rows (follow-up rounds need a run that waits for the results)"],
        [a.orderByParent !== undefined, "--order-by-parent (an --async upload is not sorted)"]
      ] as const
      const dropped = a.async ? waitingOnly.find(([given]) => given) : undefined
      if (dropped !== undefined) return Effect.fail(new UsageError({ message: `--async does not go with ${dropped[1]}` }))
      // Flags and the input file are checked before logging in.
      return Effect.zipRight(
        Ingest.precheck(args),
        withClient(a.connection, a.async ? Jobs.submitAsync(args) : Ingest.run(args))
      )
    }
  ).pipe(Command.withDescription(help(summary, example)))

const importCmd = ingestCommand(
  "import",
  "insert",
  "Insert the records of a CSV file (Bulk API 2.0 by default). Writes <job>-success.csv, <job>-failed.csv and " +
    "<job>-unprocessed.csv beside the input (or into --results-dir) and exits 3 if any row failed.",
  "sfbulk import Account --file accounts.csv"
)
const updateCmd = ingestCommand(
  "update",
  "update",
  "Update records by Id from a CSV file (an Id column is required).",
  "sfbulk update Contact --file contacts.csv --api 1 --serial"
)
const upsertCmd = ingestCommand(
  "upsert",
  "upsert",
  "Insert or update records matched on an External ID field (or Id).",
  "sfbulk upsert Account --external-id ExternalId__c --file accounts.csv",
  { externalId: true }
)
const deleteCmd = ingestCommand(
  "delete",
  "delete",
  "Delete records (to the recycle bin) by Id: the CSV has a single Id column. Or delete the records a SOQL condition selects " +
    "with --where (their ids are queried, then deleted; --dry-run counts them; without --yes a terminal asks first).",
  "sfbulk delete Account --file ids.csv",
  { where: true }
)
const hardDeleteCmd = ingestCommand(
  "hard-delete",
  "hardDelete",
  "Delete records permanently by Id (needs the Bulk API Hard Delete permission), or those a SOQL condition selects with --where.",
  `sfbulk hard-delete Account --where "Name LIKE 'Test%'" --dry-run`,
  { where: true }
)

// ---------------------------------------------------------------------------------------------
// export
// ---------------------------------------------------------------------------------------------

const exportCmd = Command.make(
  "export",
  {
    soql: Args.text({ name: "soql" }).pipe(Args.withDescription("The SOQL query"), Args.optional),
    queryFile: Options.text("query-file").pipe(Options.withDescription("Read the SOQL query from this file"), Options.optional),
    all: Options.boolean("all").pipe(Options.withDescription("queryAll: include deleted and archived records")),
    format: Options.choice("format", ["csv", "json", "ndjson", "table"]).pipe(
      Options.withDescription(
        "Output format (default: from the -o extension, else csv); table: aligned columns for reading, cells cut to fit the terminal"
      ),
      Options.optional
    ),
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.withDescription("Output file (default: standard output)"),
      Options.withDefault("-")
    ),
    api: Flags.api,
    pkChunking: Flags.positive("pk-chunking", "Bulk API 1.0 PK chunking; `--pk-chunking` alone uses 100000 records per chunk"),
    parallel: Flags.positive("parallel", "Download result pages in parallel (2.0); `--parallel` alone uses 4"),
    wait: Flags.wait,
    formulaGuard: Options.boolean("formula-guard").pipe(
      Options.withDescription("Prefix CSV cells starting with = + - @ with ' so spreadsheets show them as text")
    ),
    delimiter: delimiterFlag("CSV column delimiter: , ; | ^ ` or tab (or comma, semicolon, tab, pipe, caret, backquote); default comma"),
    timeZone: optionalText(
      "time-zone",
      "Render datetimes as wall-clock time in this IANA zone with its offset (default: as Salesforce sends them, UTC)"
    ),
    ...Flags.output,
    connection: Connection.options
  },
  (a) => {
    const args: Export.ExportArgs = {
      soql: a.soql,
      queryFile: a.queryFile,
      all: a.all,
      format: a.format,
      output: a.output,
      api: a.api,
      pkChunking: a.pkChunking,
      parallel: a.parallel,
      wait: a.wait,
      formulaGuard: a.formulaGuard,
      delimiter: a.delimiter,
      timeZone: a.timeZone,
      json: a.json,
      quiet: a.quiet
    }
    return Effect.flatMap(Export.precheck(args), (soql) => withClient(a.connection, Export.run(args, soql)))
  }
).pipe(
  Command.withDescription(
    help(
      "Export the rows of a SOQL query as CSV, JSON or NDJSON, streamed to a file or standard output.",
      `sfbulk export "SELECT Id, Name, Account.Name FROM Contact" -o contacts.csv`,
      `sfbulk export --all --format ndjson "SELECT Id FROM Account WHERE IsDeleted = true"`
    )
  )
)

// ---------------------------------------------------------------------------------------------
// job, resume
// ---------------------------------------------------------------------------------------------

const jobId = Args.text({ name: "job-id" }).pipe(Args.withDescription("The job id (750...)"))

const jobList = Command.make(
  "list",
  { ...Flags.output, connection: Connection.options },
  (a) => withClient(a.connection, Jobs.list(a))
).pipe(Command.withDescription(help("List the Bulk API jobs of the org (ingest and query).", "sfbulk job list --json")))

const jobStatus = Command.make(
  "status",
  { jobId, ...Flags.output, connection: Connection.options },
  (a) => withClient(a.connection, Jobs.status(a.jobId, a))
).pipe(
  Command.withDescription(
    help("Show a job's state and counters (Bulk API 1.0 or 2.0, ingest or query).", "sfbulk job status 7504x000004lYxAAAU")
  )
)

const jobAbort = Command.make(
  "abort",
  { jobId, ...Flags.output, connection: Connection.options },
  (a) => withClient(a.connection, Jobs.abort(a.jobId, a))
).pipe(Command.withDescription(help("Abort a job: records not yet processed stay unprocessed.", "sfbulk job abort 7504x000004lYxAAAU")))

const resultOptions = {
  jobId,
  ...Flags.results,
  output: Options.text("output").pipe(
    Options.withAlias("o"),
    Options.withDescription("Query jobs: output file (default: standard output)"),
    Options.withDefault("-")
  ),
  format: Options.choice("format", ["csv", "json", "ndjson"]).pipe(
    Options.withDescription("Query jobs: output format (default: from the -o extension, else csv)"),
    Options.optional
  ),
  ...Flags.output,
  connection: Connection.options
}

type ResultArgs = {
  readonly [K in keyof typeof resultOptions]: (typeof resultOptions)[K] extends Options.Options<infer A> | Args.Args<infer A> ? A : never
}

/** `job results` (no wait) and `resume` (wait up to `wait`): the same download of a job's results. */
const writeResults = (a: ResultArgs, wait: boolean, timeout: Option.Option<Duration.Duration>) =>
  withClient(
    a.connection,
    Jobs.results(a.jobId, {
      wait,
      timeout,
      resultsDir: a.resultsDir,
      formulaGuard: !a.noFormulaGuard,
      allowPartial: a.allowPartial,
      output: a.output,
      format: a.format,
      json: a.json,
      quiet: a.quiet
    })
  )

const jobResults = Command.make(
  "results",
  resultOptions,
  (a) => writeResults(a, false, Option.none())
).pipe(
  Command.withDescription(
    help(
      "Write a finished job's result files (ingest) or rows (query) without uploading anything.",
      "sfbulk job results 7504x000004lYxAAAU --results-dir out/"
    )
  )
)

const jobCmd = Command.make("job").pipe(
  Command.withDescription(help("Inspect and control Bulk API jobs.", "sfbulk job status <job-id>")),
  Command.withSubcommands([jobList, jobStatus, jobAbort, jobResults])
)

const resumeCmd = Command.make(
  "resume",
  {
    ...resultOptions,
    jobId: Args.text({ name: "job-id | journal" }).pipe(
      Args.withDescription("The job id (750...), or the journal file an interrupted import printed"),
      Args.optional
    ),
    journal: Recovery.journalFlag,
    wait: Flags.wait
  },
  (a) => {
    // a journal (by flag, or a path given in place of the job id) finishes a whole interrupted import
    const journal = Option.orElse(a.journal, () => Option.filter(a.jobId, Recovery.isJournalPath))
    if (Option.isSome(journal)) {
      return withClient(a.connection, Ingest.resumeJournal(journal.value, a))
    }
    if (Option.isNone(a.jobId)) return Recovery.listJournals(a)
    return writeResults({ ...a, jobId: a.jobId.value }, true, a.wait)
  }
).pipe(
  Command.withDescription(
    help(
      "Finish an interrupted import from its journal (sends only the rows never sent, waits for every job, writes the result files), " +
        "or a job started with --async: wait for it, then write its result files. Without arguments, lists the imports left to finish.",
      "sfbulk resume --journal ~/.local/state/sfbulk/20260101T120000Z-Account-4242.jsonl",
      "sfbulk resume 7504x000004lYxAAAU"
    )
  )
)

// ---------------------------------------------------------------------------------------------
// emulator, root
// ---------------------------------------------------------------------------------------------

const emulatorCmd = Command.make("emulator", EmulatorCmd.options, EmulatorCmd.run).pipe(
  Command.withDescription(
    help(
      "Start a local Salesforce emulator (Bulk API 1.0 and 2.0, OAuth and SOAP login) and print its connection facts as one JSON line. Runs until Ctrl-C.",
      "sfbulk emulator --port 8787 --latency 50"
    )
  )
)

const limitsCmd = Command.make(
  "limits",
  {
    all: Options.boolean("all").pipe(Options.withDescription("List every limit the org reports, not only the bulk-relevant ones")),
    ...Flags.output,
    connection: Connection.options
  },
  (a) => withClient(a.connection, LimitsCmd.run(a))
).pipe(
  Command.withDescription(
    help(
      "Show the org's bulk-relevant limits (API requests, Bulk API batches, Bulk API 2.0 query jobs and result storage): used, remaining, max.",
      "sfbulk limits --target-org my-org",
      "sfbulk limits --all --json"
    )
  )
)

/**
 * The root `sfbulk` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command: Command.Command<"sfbulk", never, unknown, any> = Command.make("sfbulk").pipe(
  Command.withDescription(
    help(
      "Move data in and out of Salesforce with the Bulk APIs. Credentials come from flags or the SF_* environment; " +
        "--emulator runs any command against an embedded emulator.",
      "sfbulk import Account --file accounts.csv --emulator",
      `sfbulk export "SELECT Id, Name FROM Account" -o accounts.json`
    )
  ),
  Command.withSubcommands([importCmd, updateCmd, upsertCmd, deleteCmd, hardDeleteCmd, exportCmd, jobCmd, resumeCmd, limitsCmd, emulatorCmd])
)

const VERSION = "0.1.0"

/**
 * Fills in the default value of flags whose value is optional (`--pk-chunking [size]`,
 * `--parallel [n]`), since `@effect/cli` needs one.
 *
 * @since 0.1.0
 * @category utils
 */
export const normalizeArgs: (argv: ReadonlyArray<string>) => Array<string> = Argv.normalize

const errorMessage = (error: unknown): string => {
  if (ValidationError.isValidationError(error)) {
    return "error" in error ? HelpDoc.toAnsiText(error.error as HelpDoc.HelpDoc).trim() : String(error)
  }
  const e = error as { _tag?: string; flow?: string; description?: string; message?: string }
  // Nothing was tried: the client's advice about login hosts and connected apps does not apply.
  if (e._tag === "AuthenticationError" && e.flow === "none") return e.description ?? "no credentials were given"
  if (Connection.describesItself(error)) return e.description ?? String(error)
  return e.message ?? String(error)
}

// ANSI escape sequences (colors, bold) as @effect/cli's help writes them.
const ANSI = /\x1b\[[0-9;]*m/g

/**
 * @effect/cli styles its help text (`sfbulk import --help`) whatever the output: written to a pipe or
 * a file, or with NO_COLOR set (no-color.org), the escapes become noise in `| less` and help.txt.
 * sfbulk itself never writes through `Console`, so only @effect/cli's text passes here.
 */
const plainWhenPiped = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  process.stdout.isTTY === true && (process.env["NO_COLOR"] ?? "") === ""
    ? self
    : Console.consoleWith((c) => {
      const strip = (args: ReadonlyArray<unknown>) => args.map((a) => (typeof a === "string" ? a.replace(ANSI, "") : a))
      return Console.withConsole(self, { ...c, log: (...a) => c.log(...strip(a)), error: (...a) => c.error(...strip(a)) })
    })

/**
 * Runs a command line (`process.argv` shape: node, script, args...) and resolves with the exit
 * code. Failures are printed as one line (`sfbulk: <what happened> <what to do>`) on stderr, and
 * with `--json` also as a JSON object on stdout; `--verbose` adds the full cause.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<number> => {
  const args = normalizeArgs(argv)
  const rest = args.slice(2)
  if (rest.length === 0 || (rest.length === 1 && (rest[0] === "--help" || rest[0] === "-h"))) {
    return Effect.sync(() => {
      process.stdout.write(rootHelp(VERSION))
      return rest.length === 0 ? ExitCode.Usage : ExitCode.Ok
    })
  }
  const json = args.includes("--json")
  const verbose = args.includes("--verbose")
  const cli = Command.run(command, { name: "sfbulk", version: VERSION })
  return cli(args).pipe(
    plainWhenPiped,
    Effect.provide(NodeContext.layer),
    Effect.exit,
    Effect.map((exit) => {
      if (Exit.isSuccess(exit)) return ExitCode.Ok
      if (Cause.isInterruptedOnly(exit.cause)) return ExitCode.Interrupted
      const failure = Cause.failureOption(exit.cause)
      const error: unknown = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
      const tag = Option.isSome(failure) ? (error as { _tag?: string })._tag ?? "" : "Defect"
      const code = ValidationError.isValidationError(error) ? ExitCode.Usage : fromTag(tag)
      // @effect/cli prints its own parse errors (with the usage) already.
      const printed = ValidationError.isValidationError(error)
      const message = messageFor(error, errorMessage(error))
      const advice = Connection.describesItself(error) ? undefined : hint(error)
      if (!printed || json) {
        if (tag !== "RowsFailed" || !json) {
          process.stderr.write(`sfbulk: ${message}${advice ? `\n  ${advice}` : ""}\n`)
        }
      }
      if (json && tag !== "RowsFailed") {
        process.stdout.write(
          `${
            JSON.stringify({ ok: false, error: { _tag: tag || "Defect", message, ...(advice ? { hint: advice } : {}) }, exitCode: code })
          }\n`
        )
      }
      if (verbose) process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
      else if (code === ExitCode.Unexpected) process.stderr.write("  (this looks like a bug: rerun with --verbose and report the output)\n")
      return code
    })
  )
}
