/**
 * Shared setup of the fault, resume and soak runs: an emulator with seeded faults, a BulkClient over
 * a renewable OAuth session with short timeouts and a fast retry schedule, and the checks every
 * scenario makes (each row ends exactly once; the store holds no duplicate; a query returns every
 * row once, in order).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll } from "@effect/vitest"
import { Bulk1, BulkClient, SalesforceAuth, Transport } from "../packages/client/src/index.js"
import { Emulator } from "../packages/emulator/src/index.js"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** A started emulator. */
export type Emu = Awaited<ReturnType<typeof Emulator.start>>

/** The fault scenarios of issue 7, as emulator fault specs. */
export const SCENARIOS = {
  "5xx": "5xx=0.1",
  reset: "reset=0.1",
  slow: "slow=0.1",
  limit: "limit=0.1",
  expiry: "expire-after=6",
  batchFail: "batch-fail=0.3",
  mix: "5xx=0.03,reset=0.03,slow=0.02,limit=0.02,expire-after=25,batch-fail=0.05"
} as const

/** Scenarios whose faults cannot always be survived: typed errors, then a resume. */
export const UNSURVIVABLE: ReadonlySet<string> = new Set(["limit", "batchFail", "mix"])

/** Scenario name. */
export type Scenario = keyof typeof SCENARIOS

/** Emulator settings for fault runs: small pages and result files so downloads span requests. */
export const startEmulator = (seed = 7): Promise<Emu> =>
  Emulator.start({ latencyMs: 2, pageSize: 700, resultFileRows: 900, slowMs: 600, retryAfterSeconds: 1, seed })

/** Transport settings: a request timeout under the emulator's slow delay, a fast retry schedule. */
export const transportOptions: Transport.Options = {
  timeout: "300 millis",
  retrySchedule: Transport.defaultRetrySchedule({ initialDelay: "10 millis", maxDelay: "300 millis", maxRetries: 12, budget: "30 seconds" })
}

/** A renewable session (OAuth password flow) for the emulator. */
export const authLayer = (emu: Emu) =>
  SalesforceAuth.oauthPassword({
    loginUrl: emu.loginUrl,
    clientId: emu.clientId,
    clientSecret: Redacted.make(emu.clientSecret),
    username: emu.username,
    password: Redacted.make(emu.password),
    securityToken: Redacted.make(emu.securityToken)
  })

/** BulkClient over the emulator with the fault-run transport. */
export const clientLayer = (emu: Emu): Layer.Layer<BulkClient.BulkClient> =>
  Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(
    Layer.provide(Bulk1.layer(transportOptions)),
    Layer.provide(authLayer(emu)),
    Layer.provide(NodeHttpClient.layerUndici)
  )

/** Polling fast enough for tests. */
export const poll = { pollSchedule: Schedule.spaced("15 millis"), timeout: Duration.seconds(40) } as const

/** Collects a stream into an array. */
export const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

/** `n` account rows keyed by `${tag}-${i}` (zero-padded so that the key order is the row order). */
export const accounts = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    Name: `${tag} ${i}`,
    ExternalId__c: `${tag}-${String(i).padStart(6, "0")}`,
    NumberOfEmployees: i
  }))

/** Stored accounts whose external id starts with the tag, by external id (queryAll: deleted too). */
export const storedByKey = (emu: Emu, tag: string): Map<string, number> => {
  const r = emu.org.query(`SELECT ExternalId__c, Name FROM Account WHERE Name LIKE '${tag} %'`, { all: true })
  if (!r.ok) throw new Error(`store query failed: ${JSON.stringify(r.error)}`)
  const counts = new Map<string, number>()
  for (let i = 0; i < r.result.size; i++) {
    const name = String(r.result.row(i)[1])
    counts.set(name, (counts.get(name) ?? 0) + 1)
  }
  return counts
}

/** Figures accumulated across scenarios for the closing report. */
export interface Figures {
  runs: number
  rowsMoved: number
  retries: number
  renewals: number
  rowsLost: number
  rowsDuplicated: number
}

/** A fresh figures record. */
export const figures = (): Figures => ({ runs: 0, rowsMoved: 0, retries: 0, renewals: 0, rowsLost: 0, rowsDuplicated: 0 })

/** Faults the emulator injected (each a retry the client had to make) and sessions renewed. */
export const injected = (emu: Emu) => {
  const f = emu.stats().faults
  return { retries: f["5xx"] + f.reset + f.slow + f.limit, renewals: f["expire-after"] }
}

/**
 * Points TMPDIR at a directory of the calling test file's own while its tests run (removed after
 * them): what the client leaves there, and the modes of its files, are that file's alone. Returns
 * the directory's path (set once the file's tests start).
 */
export const ownTmpdir = (prefix: string): () => string => {
  let dir = ""
  let saved: string | undefined
  beforeAll(() => {
    saved = process.env.TMPDIR
    dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
    process.env.TMPDIR = dir
  })
  afterAll(() => {
    if (saved === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = saved
    Fs.rmSync(dir, { recursive: true, force: true })
  })
  return () => dir
}

/** Runs `f` with TMPDIR pointed at a private dir of its own (`prefix` + random), removed after and TMPDIR restored. */
export const withOwnTmpdir = <A, E>(prefix: string, f: (tmp: string) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const saved = process.env["TMPDIR"]
      const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
      process.env["TMPDIR"] = tmp
      return { saved, tmp }
    }),
    ({ tmp }) => f(tmp),
    ({ saved, tmp }) =>
      Effect.sync(() => {
        if (saved === undefined) delete process.env["TMPDIR"]
        else process.env["TMPDIR"] = saved
        Fs.rmSync(tmp, { recursive: true, force: true })
      })
  )

/**
 * An HttpClient of the caller's own: undici underneath, its answers handed on as web `Response`s of
 * the raw (gzip) bytes, so the transport reads them through `response.stream` and gunzips them itself.
 */
export const ownHttpClient: Layer.Layer<HttpClient.HttpClient> = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(
    HttpClient.HttpClient,
    HttpClient.transformResponse(Effect.flatMap((response) =>
      Effect.map(Effect.runtime<never>(), (runtime) =>
        HttpClientResponse.fromWeb(
          response.request,
          new Response(response.status === 204 ? null : Stream.toReadableStreamRuntime(response.stream, runtime), {
            status: response.status,
            headers: response.headers
          })
        ))
    ))
  )
).pipe(Layer.provide(NodeHttpClient.layerUndici))
