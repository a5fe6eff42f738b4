/**
 * A local Salesforce org over real HTTP: OAuth 2.0 and SOAP login, Bulk API 1.0, Bulk API 2.0,
 * the version list and limits, with deterministic fault injection. Start one per test file with
 * `start` (promise) or `layer` (Effect).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as auth from "./internal/auth.js"
import type { OrgDefinition } from "./internal/model.js"
import * as faults from "./internal/faults.js"
import * as processing from "./internal/processing.js"
import * as server from "./internal/server.js"
import * as Org from "./Org.js"

/**
 * Fault injection settings: rates per request in [0, 1] (`5xx`, `reset`, `slow`, `limit`,
 * `lost-answer`, `stall`, `batch-fail`) and `expire-after` (sessions expire after that many
 * authenticated requests). Either the spec string `"5xx=0.05,lost-answer=0.02,expire-after=500"` or
 * an object with the same keys (camelCase spellings `serverError`, `lostAnswer`, `expireAfter`,
 * `batchFail` also accepted).
 *
 * @since 0.1.0
 * @category models
 */
export type Faults = faults.FaultsInput

/**
 * Credential overrides; anything omitted gets a fixed default (the RSA key pair is generated).
 *
 * @since 0.1.0
 * @category models
 */
export type Credentials = auth.CredentialsInput

/**
 * Knobs of the processing model, each overriding the profile's value: `recordsPerSecond` (per batch,
 * by operation, plus `query`), `parallelBatches` (org-wide slots), `bulk2BatchSize`,
 * `transactionRows`, `requestLatencyMs`, `lockFailureRate`, `batchTimeLimitMs`, `batchRetries`,
 * `enforceLimits`, `dailyApiRequests`, `dailyBulkApiBatches`, `dailyBulkV2QueryJobs`,
 * `dailyBulkV2QueryFileStorageMB`, `dailyBulkV2Records`. Defaults and their sources: FIDELITY.md.
 *
 * @since 0.2.0
 * @category models
 */
export type ProcessingOptions = Omit<processing.ProcessingInput, "profile">

/**
 * Options for `start`, `make` and `layer`. Every field is optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmulatorOptions {
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number
  /** Interface to listen on; default `127.0.0.1`. */
  readonly host?: string
  /** Milliseconds a batch (1.0) or job (2.0) stays queued before processing; default 50. */
  readonly latencyMs?: number
  /** Default rows per Bulk 2.0 query results page; default 10,000. */
  readonly pageSize?: number
  /** Rows per Bulk 1.0 query result file; default 100,000. */
  readonly resultFileRows?: number
  /** Rows processed between event-loop yields; default 2,000. */
  readonly processingChunk?: number
  /**
   * Whether a PK-chunked 1.0 query job counts its original batch (state `NotProcessed` once split)
   * in `numberBatchesTotal`. Default false, as the Bulk API guide's PK chunking walkthrough shows;
   * no real capture settles it, so clients must finish either way (see FIDELITY.md).
   */
  readonly pkChunkingCountsOriginal?: boolean
  /** Lifetime of an access token in seconds, counted from issue; default 7,200. */
  readonly sessionTtlSeconds?: number
  /** Fault injection (none by default). Change it later with `setFaults` or `POST /__emulator/faults`. */
  readonly faults?: Faults
  /** Seed of the fault PRNG; the same seed and request sequence replay the same faults. Default 1. */
  readonly seed?: number
  /** How long a `slow` fault delays a request, and a `stall` fault holds an answer back, in ms; default 10,000. */
  readonly slowMs?: number
  /** Inject faults into the login endpoints too; default false. */
  readonly faultLogin?: boolean
  /** `Retry-After` seconds on injected 429 answers; default 1. */
  readonly retryAfterSeconds?: number
  /**
   * The org: a definition (extends the default org, see `Org.extend`) or the path of an org
   * definition JSON file. Default: `Org.defaultDefinition`.
   */
  readonly data?: OrgDefinition | string
  /** Credential overrides. */
  readonly credentials?: Credentials
  /**
   * `"loopback"` (default: instant processing, unlimited parallelism, no locks, allocations counted
   * but not enforced) or `"realistic"` (Salesforce's pace, parallel slots, lock contention).
   */
  readonly profile?: "loopback" | "realistic"
  /** Processing-model knobs over the profile's defaults. */
  readonly processing?: ProcessingOptions
}

/**
 * Options of `setFaults` besides the spec: `seed`, `slowMs`, `faultLogin`, `match`.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultOptions = server.FaultOptions

/**
 * Counters of a running emulator.
 *
 * @since 0.1.0
 * @category models
 */
export type Stats = server.Stats

/**
 * A running emulator: the facts a client needs to connect, the org, counters and fault control.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmulatorHandle {
  /** Base URL of the instance (`http://127.0.0.1:PORT`). */
  readonly instanceUrl: string
  /** Login URL: the same origin serves `/services/oauth2/token` and `/services/Soap/u/{ver}`. */
  readonly loginUrl: string
  /** A valid access token issued at start (password flow). */
  readonly accessToken: string
  /** A refresh token for `grant_type=refresh_token`. */
  readonly refreshToken: string
  readonly username: string
  readonly password: string
  readonly securityToken: string
  /** Connected app consumer key (also the JWT `iss`). */
  readonly clientId: string
  readonly clientSecret: string
  /** PEM private key whose signature the JWT bearer flow accepts (undefined if only a certificate was configured). */
  readonly privateKeyPem: string | undefined
  /** Default API version, `"66.0"`. */
  readonly apiVersion: string
  /** 18-character org id. */
  readonly orgId: string
  /** 18-character id of the user every session runs as. */
  readonly userId: string
  /** The in-memory org, to seed or inspect records. */
  readonly org: Org.Org
  /** Requests, faults injected by kind, sessions. */
  stats(): Stats
  /**
   * Replace the fault settings (restarts the PRNG from `seed`, or the current seed); throws on an
   * invalid spec or `match`. `match` (a regular expression over `"METHOD /path"`) limits the faults
   * to the requests it matches, e.g. `"^POST /services/async/[^/]+/job/[^/]+$"` for 1.0 close/abort.
   */
  setFaults(faults: Faults | undefined, options?: FaultOptions): void
  /** Stop listening and drop open connections. */
  close(): Promise<void>
}

/**
 * The connection facts of a running emulator as one plain object, in the order `sfbulk-emulator`
 * and `sfbulk emulator` print them (one JSON line).
 *
 * @since 0.1.0
 * @category utils
 */
export const connectionFacts = (handle: EmulatorHandle) => ({
  instanceUrl: handle.instanceUrl,
  loginUrl: handle.loginUrl,
  accessToken: handle.accessToken,
  refreshToken: handle.refreshToken,
  username: handle.username,
  password: handle.password,
  securityToken: handle.securityToken,
  clientId: handle.clientId,
  clientSecret: handle.clientSecret,
  apiVersion: handle.apiVersion,
  orgId: handle.orgId,
  userId: handle.userId,
  privateKeyPem: handle.privateKeyPem
})

/**
 * The emulator could not start (bad options, unreadable org file, port in use).
 *
 * @since 0.1.0
 * @category errors
 */
export class EmulatorError extends Schema.TaggedError<EmulatorError>("@sfbulk/emulator/EmulatorError")(
  "EmulatorError",
  { reason: Schema.String }
) {
  override get message(): string {
    return `The Salesforce emulator could not start: ${this.reason}`
  }
}

const positive = (name: string, value: number | undefined, fallback: number, min = 0): number => {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got ${value}`)
  return value
}

const loadOrg = async (data: OrgDefinition | string | undefined): Promise<Org.Org> => {
  if (data === undefined) return Org.make()
  if (typeof data === "string") return Effect.runPromise(Org.fromFile(data))
  return Org.make(Org.extend(data))
}

/**
 * Start an emulator. Rejects with an `Error` whose message says what to fix (bad fault spec, bad
 * org file, port in use).
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (options: EmulatorOptions = {}): Promise<EmulatorHandle> => {
  const faultConfig = faults.parse(options.faults)
  const sessionTtlSeconds = positive("sessionTtlSeconds", options.sessionTtlSeconds, 7200, 0)
  const settings = {
    latencyMs: positive("latencyMs", options.latencyMs, 50),
    pageSize: positive("pageSize", options.pageSize, 10_000, 1),
    resultFileRows: positive("resultFileRows", options.resultFileRows, 100_000, 1),
    processingChunk: positive("processingChunk", options.processingChunk, 2_000, 1),
    pkChunkingCountsOriginal: options.pkChunkingCountsOriginal ?? false
  }
  const credentials = auth.makeCredentials(options.credentials)
  const org = await loadOrg(options.data)
  const s = await server.start(
    {
      org,
      settings,
      credentials,
      sessionTtlSeconds,
      faults: faultConfig,
      seed: options.seed ?? 1,
      slowMs: positive("slowMs", options.slowMs, 10_000),
      faultLogin: options.faultLogin ?? false,
      retryAfterSeconds: positive("retryAfterSeconds", options.retryAfterSeconds, 1),
      processing: processing.resolve(options.profile, options.processing),
      now: Date.now
    },
    options.port ?? 0,
    options.host ?? "127.0.0.1"
  )
  const refreshToken = s.sessions.issueRefresh()
  const session = s.sessions.issue(refreshToken)
  return {
    instanceUrl: s.origin,
    loginUrl: s.origin,
    accessToken: session.token,
    refreshToken,
    username: credentials.username,
    password: credentials.password,
    securityToken: credentials.securityToken,
    clientId: credentials.clientId,
    clientSecret: credentials.clientSecret,
    privateKeyPem: credentials.privateKeyPem,
    apiVersion: server.DEFAULT_VERSION,
    orgId: org.orgId,
    userId: org.userId,
    org,
    stats: s.stats,
    setFaults: (spec, opts) => s.setFaults(faults.parse(spec), opts ?? {}),
    close: s.close
  }
}

/**
 * The running emulator as an Effect service.
 *
 * @since 0.1.0
 * @category tags
 */
export class Emulator extends Context.Tag("@sfbulk/emulator/Emulator")<Emulator, EmulatorHandle>() {}

/**
 * Start an emulator for the lifetime of the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: EmulatorOptions = {}): Effect.Effect<EmulatorHandle, EmulatorError, import("effect/Scope").Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => start(options),
      catch: (e) => new EmulatorError({ reason: e instanceof Error ? e.message : String(e) })
    }),
    (handle) => Effect.promise(() => handle.close())
  )

/**
 * A layer providing a started emulator, closed when the layer is released.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: EmulatorOptions = {}): Layer.Layer<Emulator, EmulatorError> => Layer.scoped(Emulator, make(options))
