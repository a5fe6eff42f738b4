/**
 * `sfbulk emulator`: the same local Salesforce as `pnpm emulator`, started through the emulator
 * package's own API; prints its connection facts as one JSON line and runs until Ctrl-C / SIGTERM.
 */
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type EmulatorOptions, startEmulator } from "../connection.js"
import type { UsageError } from "../errors.js"

/** The flags of `sfbulk emulator` (those of `pnpm emulator`). */
export const options = {
  port: Options.integer("port").pipe(Options.withDescription("Port to listen on (0 picks a free one)"), Options.withDefault(0)),
  host: Options.text("host").pipe(Options.withDescription("Interface to listen on"), Options.withDefault("127.0.0.1")),
  data: Options.text("data").pipe(Options.withDescription("Org definition (objects, fields, seed records) as JSON"), Options.optional),
  latency: Options.integer("latency").pipe(Options.withDescription("Milliseconds a batch/job waits before processing"), Options.optional),
  pageSize: Options.integer("page-size").pipe(Options.withDescription("Rows per query result page"), Options.optional),
  sessionTtl: Options.integer("session-ttl").pipe(Options.withDescription("Session lifetime in seconds"), Options.optional),
  faults: Options.text("faults").pipe(
    Options.withDescription("Fault rates, e.g. \"5xx=0.05,reset=0.02,slow=0.01,limit=0.02,expire-after=500,batch-fail=0.01\""),
    Options.optional
  ),
  seed: Options.integer("seed").pipe(Options.withDescription("Seed that makes faults replayable"), Options.optional),
  resultFileRows: Options.integer("result-file-rows").pipe(
    Options.withDescription("Rows per Bulk API 1.0 query result file"),
    Options.optional
  ),
  slowMs: Options.integer("slow-ms").pipe(Options.withDescription("How long a `slow` fault delays a request (ms)"), Options.optional),
  faultLogin: Options.boolean("fault-login").pipe(Options.withDescription("Inject faults into the login endpoints too"))
}

type Args = { readonly [K in keyof typeof options]: (typeof options)[K] extends Options.Options<infer A> ? A : never }

const opt = <A>(key: string, o: Option.Option<A>) => (Option.isSome(o) ? { [key]: o.value } : {})

/** Runs the emulator until the process is asked to stop. */
export const run = (a: Args): Effect.Effect<void, UsageError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const handle = yield* startEmulator({
        port: a.port,
        host: a.host,
        ...opt("data", a.data),
        ...opt("latencyMs", a.latency),
        ...opt("pageSize", a.pageSize),
        ...opt("sessionTtlSeconds", a.sessionTtl),
        ...opt("faults", a.faults),
        ...opt("seed", a.seed),
        ...opt("resultFileRows", a.resultFileRows),
        ...opt("slowMs", a.slowMs),
        ...(a.faultLogin ? { faultLogin: true } : {})
      } as EmulatorOptions)
      // The same facts, in the same order, as `pnpm emulator` prints (one shared function).
      // Loaded lazily, like startEmulator: other commands never load the emulator.
      const { Emulator } = yield* Effect.promise(() => import("@sfbulk/emulator"))
      const facts = Emulator.connectionFacts(handle)
      process.stdout.write(`${JSON.stringify(facts)}\n`)
      yield* Effect.async<void>((resume) => {
        const stop = () => resume(Effect.void)
        process.once("SIGINT", stop)
        process.once("SIGTERM", stop)
        return Effect.sync(() => {
          process.off("SIGINT", stop)
          process.off("SIGTERM", stop)
        })
      })
    })
  )
