/**
 * What makes an interrupted import resumable from the command line: every ingest is journaled
 * (the client's `IngestOptions.journal`) in a private state directory, with the command line and a
 * fingerprint of the input in the journal's header; standard input is first copied to a private
 * spool file so it can be read again. `sfbulk resume --journal <file>` re-reads the input (refusing
 * one that changed), finishes every job the journal lists and sends only the rows none holds.
 *
 * Kept and removed: the journal and the spool are removed once the operation is complete (every
 * row has an outcome and the result files are written, even when some rows failed) or when nothing
 * was sent; they are kept when the run stopped after sending something (Ctrl-C, SIGTERM, `--wait`
 * running out, an error), and the message names them. A journal given with `--journal` is the
 * user's: it is never removed (a finished one makes re-running the same command a no-op).
 */
import * as Options from "@effect/cli/Options"
import { BulkError, Journal } from "@sfbulk/client"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { pipeline } from "node:stream/promises"
import { type OutputFlags, printJson, printText } from "./report.js"
import type * as Transform from "./transform.js"

type InvalidInputError = BulkError.InvalidInputError
const InvalidInputError = BulkError.InvalidInputError

/** `--journal <file>`: where an import records its pieces (default: a new file in the state directory). */
export const journalFlag = Options.text("journal").pipe(
  Options.withDescription(
    "Journal file recording every piece sent, so an interrupted import can be finished with `sfbulk resume --journal <file>` " +
      "(default: a new file in $SFBULK_STATE_DIR, else $XDG_STATE_HOME/sfbulk or ~/.local/state/sfbulk, removed once the import is finished)"
  ),
  Options.optional
)

/** Environment variable naming the directory journals and spool files live in. */
export const STATE_DIR_ENV = "SFBULK_STATE_DIR"

/** `$SFBULK_STATE_DIR`, else `$XDG_STATE_HOME/sfbulk`, else `~/.local/state/sfbulk`. */
export const stateDir = (): string => {
  const own = process.env[STATE_DIR_ENV]
  if (own) return Path.resolve(own)
  const xdg = process.env["XDG_STATE_HOME"]
  return Path.join(xdg ? Path.resolve(xdg) : Path.join(Os.homedir(), ".local", "state"), "sfbulk")
}

/** The input as the journal remembers it. */
export interface InputFacts {
  /** As given on the command line (`-` for standard input). */
  readonly given: string
  /** The file to read again: the input file, or the spool of standard input. */
  readonly read: string
  readonly size: number
  readonly mtimeMs: number
  readonly sha256: string
}

/** The command line an import ran with, stored in its journal's header. */
export interface Meta {
  readonly sfbulk: 1
  readonly command: string
  readonly operation: string
  readonly object: string
  readonly externalId?: string | undefined
  readonly api: "1.0" | "2.0"
  readonly serial: boolean
  readonly batchSize?: number | undefined
  readonly concurrency?: number | undefined
  /** `--retry-locked-rows`: a resume goes on with the lock follow-up rounds (the journal records each). */
  readonly retryLockedRows?: number | undefined
  /** `--order-by-parent`: a resume orders the input the same way (the journal's positions are in that order). */
  readonly orderByParent?: string | undefined
  /** Absolute: where the result files go. */
  readonly resultsDir: string
  readonly formulaGuard: boolean
  readonly allowPartial: boolean
  readonly allowEmpty: boolean
  /** `--encoding` and `--delimiter` of the input, so that a resume reads it the same way. */
  readonly encoding?: string | undefined
  readonly delimiter?: string | undefined
  /** `--mapping` (its text and SHA-256), `--date-format`, `--time-zone` (resolved), `--date-fields`, `--insert-nulls`. */
  readonly transform?: Transform.Options | undefined
  readonly input: InputFacts
  /** Made in the state directory by sfbulk (removed once finished) rather than given with `--journal`. */
  readonly owned: boolean
}

/** A journaled run: where its journal is and what it was started with. */
export interface Recording {
  readonly journal: string
  readonly meta: Meta
  /** Whether this run created the journal (else it resumes one). */
  readonly fresh: boolean
}

const fail = (what: string) => new InvalidInputError({ what })

/** Creates `dir` (and parents) readable by its owner only. */
const privateDir = (dir: string): Effect.Effect<void, InvalidInputError> =>
  Effect.try({
    try: () => {
      Fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
      Fs.chmodSync(dir, 0o700)
    },
    catch: (e) =>
      fail(
        `cannot create the state directory ${dir} (for the journal that makes an interrupted import resumable): ${
          (e as Error).message
        }. Set ${STATE_DIR_ENV} or pass --journal <file>`
      )
  })

/** Fails unless a file can be created in `dir` (made if missing): checked before anything is sent. */
export const checkWritableDir = (dir: string, what: string): Effect.Effect<void, InvalidInputError> =>
  Effect.try({
    try: () => {
      Fs.mkdirSync(dir, { recursive: true })
      const probe = Path.join(dir, `.sfbulk-probe-${process.pid}`)
      Fs.writeFileSync(probe, "", { mode: 0o600 })
      Fs.rmSync(probe, { force: true })
    },
    catch: (e) => fail(`${what} ${dir} is not a writable directory (${(e as Error).message}): nothing was sent; fix it or choose another`)
  })

/** Size, modification time and SHA-256 of a file, read as a stream. */
const fingerprint = (path: string): Effect.Effect<Omit<InputFacts, "given" | "read">, InvalidInputError> =>
  Effect.tryPromise({
    try: async () => {
      const stat = Fs.statSync(path)
      const hash = Crypto.createHash("sha256")
      await pipeline(Fs.createReadStream(path), async function*(source) {
        for await (const chunk of source) hash.update(chunk as Buffer)
      })
      return { size: stat.size, mtimeMs: stat.mtimeMs, sha256: hash.digest("hex") }
    },
    catch: (e) => fail(`cannot read ${path}: ${(e as Error).message}`)
  })

/**
 * Copies standard input to a private spool file, so a resume can read it again. Stopped by a
 * signal or a failure before it is complete (nothing sent yet), the partial copy is removed.
 */
const spoolStdin = (path: string): Effect.Effect<Omit<InputFacts, "given" | "read">, InvalidInputError> => {
  const stopped = (signal: NodeJS.Signals) => {
    Fs.rmSync(path, { force: true })
    process.stderr.write(`\nsfbulk: stopped by ${signal} while reading standard input; nothing was sent.\n`)
    process.exit(130)
  }
  return Effect.acquireUseRelease(
    Effect.sync(() => {
      process.on("SIGINT", stopped)
      process.on("SIGTERM", stopped)
    }),
    () =>
      Effect.tryPromise({
        // hashed as it is copied: no second pass (during which a signal would leave the copy behind)
        try: async () => {
          const hash = Crypto.createHash("sha256")
          await pipeline(process.stdin, async function*(source) {
            for await (const chunk of source) {
              hash.update(chunk as Buffer)
              yield chunk
            }
          }, Fs.createWriteStream(path, { mode: 0o600, flags: "wx" }))
          const stat = Fs.statSync(path)
          return { size: stat.size, mtimeMs: stat.mtimeMs, sha256: hash.digest("hex") }
        },
        catch: (e) => {
          Fs.rmSync(path, { force: true })
          return fail(`cannot keep a copy of standard input in ${path}: ${(e as Error).message}`)
        }
      }),
    () =>
      Effect.sync(() => {
        process.off("SIGINT", stopped)
        process.off("SIGTERM", stopped)
      })
  )
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")

/** What `start` needs from the command line. */
export type Settings = Omit<Meta, "sfbulk" | "input" | "owned">

/**
 * Before anything is sent: makes (or opens, with `--journal` naming an existing one) the journal,
 * spools standard input, and records the input's fingerprint. A journal given with `--journal`
 * that already exists is resumed: its input must be unchanged.
 */
export const start = (
  settings: Settings,
  file: string,
  journalFlag: Option.Option<string>
): Effect.Effect<Recording, InvalidInputError> =>
  Effect.gen(function*() {
    const state = stateDir()
    const base = `${stamp()}-${settings.object.replace(/[^\w.-]/g, "_")}-${process.pid}`
    if (Option.isSome(journalFlag)) {
      const journal = Path.resolve(journalFlag.value)
      if (Fs.existsSync(journal) && Fs.statSync(journal).size > 0) return yield* open(journal)
      yield* checkWritableDir(Path.dirname(journal), "the journal's directory")
    } else yield* privateDir(state)
    const journal = Option.isSome(journalFlag) ? Path.resolve(journalFlag.value) : Path.join(state, `${base}.jsonl`)
    let read = Path.resolve(file)
    let facts: Omit<InputFacts, "given" | "read">
    if (file === "-") {
      yield* privateDir(state)
      read = Path.join(state, `${base}.input.csv`)
      facts = yield* spoolStdin(read)
    } else facts = yield* fingerprint(read)
    const meta: Meta = { sfbulk: 1, ...settings, input: { given: file, read, ...facts }, owned: Option.isNone(journalFlag) }
    yield* Journal.create(journal, {
      object: settings.object,
      operation: settings.operation,
      api: settings.api,
      externalIdFieldName: settings.externalId
    }, meta).pipe(Effect.tapError(() => Effect.sync(() => file === "-" && Fs.rmSync(read, { force: true }))))
    return { journal, meta, fresh: true }
  })

/** Opens a journal the CLI wrote, for `sfbulk resume --journal`. */
export const open = (path: string): Effect.Effect<Recording, InvalidInputError> =>
  Effect.gen(function*() {
    const journal = Path.resolve(path)
    const j = yield* Journal.read(journal)
    const meta = j.meta as Meta | undefined
    if (meta?.sfbulk !== 1) {
      return yield* fail(`${journal} was not written by the sfbulk command line: re-run the program that made it with the same journal`)
    }
    return { journal, meta, fresh: false }
  })

/**
 * Holds `<journal>.lock` (this process's id) while a run uses the journal: two runs resuming the
 * same import at once would both send its unsent rows. A lock whose process is gone is taken over.
 */
export const locked = <A, E, R>(rec: Recording, body: Effect.Effect<A, E, R>): Effect.Effect<A, E | InvalidInputError, R> => {
  const path = `${rec.journal}.lock`
  const take = Effect.try({
    try: () => {
      try {
        Fs.writeFileSync(path, String(process.pid), { mode: 0o600, flag: "wx" })
        return
      } catch (e) {
        if ((e as { code?: string }).code !== "EEXIST") throw e
      }
      const holder = Number(Fs.readFileSync(path, "utf8"))
      let alive = false
      try {
        alive = holder > 0 && holder !== process.pid && (process.kill(holder, 0), true)
      } catch {
        alive = false
      }
      if (alive) throw new Error(`process ${holder} is running it now; wait for it to end`)
      Fs.writeFileSync(path, String(process.pid), { mode: 0o600 })
    },
    catch: (e) => fail(`the journal ${rec.journal} is in use: ${(e as Error).message}`)
  })
  return Effect.acquireUseRelease(
    Effect.map(take, () => removal(() => Fs.rmSync(path, { force: true }))),
    () => body,
    (remove) => Effect.sync(remove)
  )
}

/**
 * `remove`, to call on release, and also run at process exit: a run ended by `process.exit` (a
 * second signal, cleanup over time) skips the release.
 */
const removal = (remove: () => void): () => void => {
  process.on("exit", remove)
  return () => {
    process.off("exit", remove)
    remove()
  }
}

/** A journal line naming the private temp directory one run of it spooled its pieces in. */
const SPOOL_PREFIX = "sfbulk-run-"

/** The spool directories earlier runs of `journal` recorded (see `spooled`). */
const spoolDirs = (journal: string): Array<string> => {
  try {
    return Fs.readFileSync(journal, "utf8").split("\n").flatMap((line) => {
      const m = /^\{"spool":(".*")\}$/.exec(line.trim())
      return m ? [JSON.parse(m[1]!) as string] : []
    })
  } catch {
    return []
  }
}

/**
 * Runs `body` (an import or its resume) with the client's spool of pieces (`$TMPDIR/sfbulk-*`,
 * customer data) inside a private directory of this run, recorded in the journal and removed when
 * the run ends. A run killed outright (SIGKILL, a crash) cannot remove it, so the next run of the
 * same journal does, under the journal's lock (the run that made it is gone): once the import is
 * finished, none of its temp files is left.
 */
export const spooled = <A, E, R>(rec: Recording, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const vars = ["TMPDIR", "TMP", "TEMP"] as const
  const acquire = Effect.sync(() => {
    for (const old of spoolDirs(rec.journal)) {
      try {
        // only a directory this user made with the name sfbulk gives it (never a symbolic link)
        const st = Fs.lstatSync(old)
        const mine = typeof process.getuid !== "function" || st.uid === process.getuid()
        if (st.isDirectory() && mine && Path.basename(old).startsWith(SPOOL_PREFIX)) Fs.rmSync(old, { recursive: true, force: true })
      } catch {
        // already gone
      }
    }
    const saved = vars.map((v) => process.env[v])
    let dir: string | undefined
    try {
      dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), SPOOL_PREFIX))
      Fs.appendFileSync(rec.journal, JSON.stringify({ spool: dir }) + "\n")
      for (const v of vars) process.env[v] = dir
    } catch {
      // the client then spools in $TMPDIR itself, as without a journal
      if (dir !== undefined) Fs.rmSync(dir, { recursive: true, force: true })
      dir = undefined
    }
    // a spool whose journal is discarded (nothing sent) would never be found again: removed on exit too
    const spool = dir
    const remove = removal(() => {
      if (spool !== undefined) Fs.rmSync(spool, { recursive: true, force: true })
    })
    return { remove, saved }
  })
  return Effect.acquireUseRelease(acquire, () => body, ({ remove, saved }) =>
    Effect.sync(() => {
      vars.forEach((v, i) => {
        const was = saved[i]
        if (was === undefined) delete process.env[v]
        else process.env[v] = was
      })
      remove()
    }))
}

/**
 * Counts the input's records as they are read and notes the total in the journal once the input
 * ended (before the first piece is sent, since the client reads the whole input first), so a
 * resume without its input can name exactly the records never sent.
 */
export const counted = <A, E, R>(rec: Recording, records: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.suspend(() => {
    let n = 0
    return records.pipe(
      Stream.tap(() => Effect.sync(() => void n++)),
      Stream.onEnd(Effect.sync(() => {
        try {
          Fs.appendFileSync(rec.journal, JSON.stringify({ inputRecords: n }) + "\n")
        } catch {
          // only a nicer message after a lost input depends on it
        }
      }))
    )
  })

/** The input's record count noted by `counted`, if the input was read to its end. */
const inputRecords = (journal: string): number | undefined => {
  try {
    const m = /\{"inputRecords":(\d+)\}/.exec(Fs.readFileSync(journal, "utf8"))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/** Record positions as 1-based record numbers, e.g. `records 1-300, 601-900`. */
export const describeRanges = (ranges: ReadonlyArray<readonly [number, number]>): string =>
  ranges.map(([s, e]) => (e - s === 1 ? `${s + 1}` : `${s + 1}-${e}`)).join(", ")

/**
 * Fails (naming the records that never reached Salesforce) unless the input is still there and
 * unchanged: a changed input cannot tell which of its rows the journal's positions mean.
 */
export const checkInput = (rec: Recording): Effect.Effect<void, InvalidInputError> =>
  Effect.gen(function*() {
    const input = rec.meta.input
    const source = input.given === "-" ? `the copy of standard input ${input.read}` : `the input ${input.read}`
    const now = yield* Effect.either(fingerprint(input.read))
    const problem = now._tag === "Left"
      ? `${source} is gone or unreadable`
      : now.right.size !== input.size || now.right.sha256 !== input.sha256
      ? `${source} changed since the import started (${input.size} bytes then, ${now.right.size} now)`
      : undefined
    if (problem === undefined) return
    const j = yield* Journal.read(rec.journal)
    const total = inputRecords(rec.journal)
    const never = Journal.unsent(j, total)
    const last = j.pieces.reduce((n, p) => Math.max(n, ...p.ranges.map((r) => r[1])), 0)
    const notSent = [describeRanges(never), total === undefined ? `every record after record ${last}` : ""].filter((t) =>
      t !== ""
    ).join(", ") ||
      "none"
    const maybe = j.pieces.filter((p) => p.stage === "created")
    return yield* fail(
      `${problem}, so the rows never sent cannot be read again. Records (numbered from 1 after the header row) ` +
        `that never reached Salesforce: ${notSent}.` +
        (maybe.length > 0
          ? ` Records being sent when the run stopped (they may or may not have arrived): ${
            describeRanges(maybe.flatMap((p) => p.ranges))
          } (jobs ${[...new Set(maybe.map((p) => p.jobId))].join(", ")}).`
          : "") +
        (j.jobIds.length > 0
          ? ` The jobs the import made (${j.jobIds.join(", ")}) can still be finished one by one with sfbulk resume <job-id>.`
          : "")
    )
  })

/**
 * What a resume does with the lock follow-up rounds (`--retry-locked-rows`) its journal records,
 * or undefined when it records none.
 */
export const followUpNote = (j: Journal.Journal, rounds: number | undefined): string | undefined => {
  if (j.followUps.length === 0) return undefined
  const last = Math.max(...j.followUps.map((p) => p.round ?? 0))
  const jobs = [...new Set(j.followUps.map((p) => p.jobId))]
  return `the import was stopped during lock follow-up round ${last}: its ${jobs.length} follow-up job(s) ` +
    `(${jobs.join(", ")}) are finished and their outcomes replace the lock failures they re-submitted` +
    (rounds === undefined || last >= rounds
      ? ""
      : `; the rows still failed on a lock go on to the remaining rounds (up to ${rounds} in all)`)
}

/** The one command that finishes an interrupted import. */
export const resumeCommand = (journal: string): string =>
  `sfbulk resume --journal ${/^[\w./+@:-]+$/.test(journal) ? journal : `'${journal.replace(/'/g, "'\\''")}'`}`

/** Whether the journal records any piece (something may have reached Salesforce). */
export const sentAnything = (rec: Recording): boolean => {
  try {
    return Fs.readFileSync(rec.journal, "utf8").includes(`"jobId"`)
  } catch {
    return false
  }
}

/** Ending of the ids a delete by query spooled into the state directory (removed like the copy of standard input). */
export const QUERY_IDS_SUFFIX = ".query-ids.csv"

/** Whether the input is sfbulk's own spool of queried ids (never a user's file: it lives in the state directory). */
const queriedIds = (input: InputFacts): boolean => input.read.endsWith(QUERY_IDS_SUFFIX) && Path.dirname(input.read) === stateDir()

/** Files kept for a resume (the journal, and the copy of standard input or the queried ids). */
export const keptFiles = (rec: Recording): string =>
  rec.journal + (rec.meta.input.given === "-"
    ? ` and the copy of standard input ${rec.meta.input.read}`
    : queriedIds(rec.meta.input)
    ? ` and the queried ids ${rec.meta.input.read}`
    : "")

/** Removes what was kept for a resume: the spool always, the journal when sfbulk made it. */
export const discard = (rec: Recording): Effect.Effect<void> =>
  Effect.sync(() => {
    if (rec.meta.input.given === "-" || queriedIds(rec.meta.input)) Fs.rmSync(rec.meta.input.read, { force: true })
    if (rec.meta.owned) Fs.rmSync(rec.journal, { force: true })
  })

/** The advice after a run that stopped with something sent, ending with the one command to run. */
export const advice = (rec: Recording, note = ""): string =>
  `Nothing is lost: every piece sent is recorded in ${keptFiles(rec)}. ${note}Finish everything (send the rows never sent, ` +
  `wait for every job, write the result files for all rows) with: ${resumeCommand(rec.journal)}`

/**
 * Runs `body` so that SIGINT and SIGTERM interrupt it (its finalizers run: temp files removed,
 * jobs closed) instead of killing the process; then prints where the kept files are and how to
 * finish, and ends interrupted (exit 130). A second signal, or cleanup taking over 20 s, exits at once
 * (`process.exit`: the spool and the lock are removed by their exit listeners).
 */
export const interruptible = <A, E, R>(
  rec: Recording,
  onStop: () => void,
  body: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const stop = yield* Deferred.make<NodeJS.Signals>()
    let signalled = false
    const message = (signal: string) => {
      onStop()
      if (sentAnything(rec)) {
        process.stderr.write(`\nsfbulk: stopped by ${signal}. ${advice(rec)}\n`)
      } else {
        if (rec.fresh) Effect.runSync(discard(rec))
        process.stderr.write(`\nsfbulk: stopped by ${signal} before anything was sent; nothing to resume.\n`)
      }
    }
    const handler = (signal: NodeJS.Signals) => {
      if (signalled) {
        message(signal)
        process.exit(130)
      }
      signalled = true
      // a cleanup that hangs (a request that will not end) must not keep the user waiting
      setTimeout(() => {
        message(signal)
        process.exit(130)
      }, 20_000).unref()
      Deferred.unsafeDone(stop, Exit.succeed(signal))
    }
    const install = Effect.sync(() => {
      process.on("SIGINT", handler)
      process.on("SIGTERM", handler)
    })
    const remove = Effect.sync(() => {
      process.off("SIGINT", handler)
      process.off("SIGTERM", handler)
    })
    const raced = Effect.raceFirst(
      Effect.map(body, Option.some),
      Effect.map(Deferred.await(stop), () => Option.none<A>())
    )
    // once signalled, the handler stays for the rest of the run: a second signal during the cleanup
    // that follows must end it through `process.exit` (whose exit listeners remove the spool and the
    // lock, see `spooled`, `locked`), not by Node's default action, which runs nothing
    const result = yield* Effect.acquireUseRelease(install, () => raced, () => (signalled ? Effect.void : remove))
    if (Option.isSome(result)) return result.value
    message(yield* Deferred.await(stop))
    return yield* Effect.interrupt
  })

/** Whether `arg` (given in place of a job id) names a journal file. */
export const isJournalPath = (arg: string): boolean => /[\\/.]/.test(arg) && Fs.existsSync(arg) && Fs.statSync(arg).isFile()

/** `sfbulk resume` without arguments: the imports in the state directory left to finish. */
export const listJournals = (flags: OutputFlags): Effect.Effect<void> =>
  Effect.gen(function*() {
    const dir = stateDir()
    const names = Fs.existsSync(dir) ? Fs.readdirSync(dir).filter((n) => n.endsWith(".jsonl")).sort() : []
    const found: Array<{ journal: string; command: string; object: string; input: string; resume: string }> = []
    for (const name of names) {
      const rec = yield* Effect.option(open(Path.join(dir, name)))
      if (Option.isNone(rec)) continue
      const m = rec.value.meta
      found.push({
        journal: rec.value.journal,
        command: m.command,
        object: m.object,
        input: m.input.given,
        resume: resumeCommand(rec.value.journal)
      })
    }
    if (flags.json) return printJson({ ok: true, journals: found, exitCode: 0 })
    printText(
      flags,
      found.length === 0
        ? `no interrupted import to finish (journals live in ${dir}). To finish a job by id: sfbulk resume <job-id>`
        : found.map((f) => `${f.command} ${f.object} from ${f.input === "-" ? "standard input" : f.input}:\n  ${f.resume}`).join("\n")
    )
  })
