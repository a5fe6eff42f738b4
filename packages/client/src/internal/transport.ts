/**
 * The HTTP transport shared by Bulk API 1.0 and 2.0: signs requests with the session, renews an
 * expired session once and replays, retries transient failures on a replaceable `Schedule`,
 * decompresses gzip answers, and turns every non-2xx answer into a `BulkError`.
 *
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import { constTrue } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Stream from "effect/Stream"
import { once as onceEvent } from "node:events"
import { pipeline, Readable } from "node:stream"
import { CompressionStream } from "node:stream/web"
import * as Zlib from "node:zlib"
import {
  ApiError,
  type BulkError,
  InvalidInputError,
  isBulkError,
  isSessionInvalid,
  LimitExceededError,
  SessionExpiredError,
  TransportError
} from "../BulkError.js"
import { mapChunksOrFail } from "./chunkStage.js"
import { SalesforceAuth, type Session } from "./session.js"
import { countRequest } from "./requestCount.js"

/** A request relative to the session's instance. */
export interface TransportRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  /** Relative to the instance URL, e.g. `/services/async/66.0/job`. */
  readonly path: string
  /** Auth header style + error body parsing. */
  readonly api: "1.0" | "2.0"
  readonly urlParams?: Record<string, string> | undefined
  readonly headers?: Record<string, string> | undefined
  /** Uint8Array/string bodies are replayable; Stream bodies are sent once (see `makeBody`). */
  readonly body?: HttpBody.HttpBody | undefined
  /**
   * Instead of `body`: makes the body afresh for each attempt (e.g. a stream that reads a file
   * again), so a streamed body can be replayed, after a session renewal for instance.
   */
  readonly makeBody?: (() => HttpBody.HttpBody) | undefined
  /** Default true for GET/PUT/PATCH/DELETE, false for POST. */
  readonly idempotent?: boolean | undefined
  /** Carried into errors and span attributes. */
  readonly jobId?: string | undefined
  readonly batchId?: string | undefined
  /** Per-request timeout until the response headers arrive (default from TransportOptions). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Gzip this request's body (default: TransportOptions.gzipRequests). */
  readonly gzip?: boolean | undefined
  /**
   * Hand a successful answer's body over as it came over the wire: still gzip-compressed when the
   * server gzipped it (`inflateHeld` gives the text back). For a reader that holds a body before
   * reading it: compressed bytes are 5-10x fewer than the text.
   */
  readonly wireBody?: boolean | undefined
}

/** Options of the transport layer. */
export interface TransportOptions {
  /**
   * When to retry a transient failure. Its input is the failure; only failures that are retryable
   * and safe to re-send reach it. Default {@link defaultRetrySchedule}.
   */
  readonly retrySchedule?: Schedule.Schedule<unknown, BulkError> | undefined
  /**
   * Time one attempt may take until its answer's headers arrive (the request body is sent within
   * it); default 2 minutes. Never longer than what is left of `budget`.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Time one request may take until its answer's headers arrive, every attempt and every wait
   * between attempts included, counted from the first attempt; default 2 minutes. No attempt starts,
   * and no attempt waits, past it.
   */
  readonly budget?: Duration.DurationInput | undefined
  /**
   * Time allowed without a single byte while an answer's body is read; default 60 seconds. Then
   * the read fails with a `TransportError`: an answer read whole is asked again when the request
   * is safe to re-send, a result download resumes.
   */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /**
   * Gzip request bodies: `true` for bodies of at least 64 KiB (and every streamed body), or a
   * minimum size. Default false.
   */
  readonly gzipRequests?: boolean | { readonly minBytes: number } | undefined
  /** Sent as `Sforce-Call-Options: client=<callOptionsClient>`; default `sfbulk`. */
  readonly callOptionsClient?: string | undefined
}

/** The transport service. */
export class Transport extends Context.Tag("@sfbulk/client/Transport")<Transport, {
  /** e.g. "66.0" (from the session). */
  readonly apiVersion: string
  /** Sends the request (with retries) and hands over the answer once its headers arrived. */
  readonly request: (req: TransportRequest) => Effect.Effect<HttpClientResponse.HttpClientResponse, BulkError>
  /**
   * Sends the request and reads its answer with `read`, as one attempt: a failure while reading
   * (the connection dropped, no byte within the idle timeout) is retried under the same rule and
   * budget as a failure to send.
   */
  readonly execute: <A>(
    req: TransportRequest,
    read: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, BulkError>
  ) => Effect.Effect<A, BulkError>
  /** The retry schedule the transport was built with, for callers that re-send at their own level. */
  readonly retrySchedule?: Schedule.Schedule<unknown, BulkError> | undefined
  /** The time budget of one request, in ms: callers that re-send at their own level stay within it. */
  readonly budgetMillis?: number | undefined
}>() {}

// ---------------------------------------------------------------------------------------------
// retry policy
// ---------------------------------------------------------------------------------------------

/** Delay the server asked for, if the error carries one. */
export const retryAfterOf = (error: BulkError): Duration.Duration | undefined =>
  (error._tag === "LimitExceededError" || error._tag === "ApiError") && error.retryAfterMillis !== undefined
    ? Duration.millis(error.retryAfterMillis)
    : undefined

/**
 * Exponential backoff with "equal jitter" (each delay uniformly in [d/2, d]), capped at `maxDelay`,
 * never shorter than a server's Retry-After, stopping after `maxRetries` or when the next delay
 * would exceed the total `budget` measured from the first failure.
 */
export const defaultRetrySchedule = (options?: {
  readonly initialDelay?: Duration.DurationInput | undefined
  readonly factor?: number | undefined
  readonly maxDelay?: Duration.DurationInput | undefined
  readonly maxRetries?: number | undefined
  readonly budget?: Duration.DurationInput | undefined
}): Schedule.Schedule<number, BulkError> => {
  const initial = Duration.toMillis(options?.initialDelay ?? "500 millis")
  const factor = options?.factor ?? 2
  const maxDelay = Duration.toMillis(options?.maxDelay ?? "30 seconds")
  const maxRetries = options?.maxRetries ?? 8
  const budget = Duration.toMillis(options?.budget ?? "2 minutes")
  return Schedule.makeWithState<{ readonly start: number | undefined; readonly attempt: number }, BulkError, number>(
    { start: undefined, attempt: 0 },
    (now, error, state) =>
      Effect.gen(function*() {
        const start = state.start ?? now
        if (state.attempt >= maxRetries) {
          return [state, state.attempt, ScheduleDecision.done] as const
        }
        const ceiling = Math.min(maxDelay, initial * Math.pow(factor, state.attempt))
        const jitter = yield* Random.next
        let delay = ceiling / 2 + (ceiling / 2) * jitter
        const retryAfter = retryAfterOf(error)
        if (retryAfter !== undefined) delay = Math.max(delay, Duration.toMillis(retryAfter))
        if (now - start + delay > budget) {
          return [state, state.attempt, ScheduleDecision.done] as const
        }
        const next = { start, attempt: state.attempt + 1 }
        return [next, next.attempt, ScheduleDecision.continueWith(ScheduleInterval.after(now + delay))] as const
      })
  )
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

const isLoopback = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "[::1]" || hostname === "::1" || /^127(\.\d{1,3}){3}$/.test(hostname)

/**
 * Validate an instance or login URL: https, or http on loopback only (the emulator). Returns the
 * origin.
 */
export const checkSecureUrl = (url: string, what: string): Effect.Effect<URL, InvalidInputError> =>
  Effect.suspend(() => {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return Effect.fail(new InvalidInputError({ what: `${what} "${url}" is not a valid URL` }))
    }
    if (parsed.protocol === "https:" || (parsed.protocol === "http:" && isLoopback(parsed.hostname))) {
      return Effect.succeed(parsed)
    }
    return Effect.fail(
      new InvalidInputError({
        what: `${what} "${parsed.origin}" must use https (plain http is only allowed for localhost); ` +
          `credentials are never sent over an insecure connection`
      })
    )
  })

/** A BulkError raised while producing the request body (e.g. bad input records), if any. */
const bulkCause = (error: unknown): BulkError | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    if (isBulkError(current)) return current
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

const errorCodes = (error: unknown): Array<string> => {
  const codes: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string") codes.push(code)
    const name = (current as { name?: unknown }).name
    if (typeof name === "string") codes.push(name)
    current = (current as { cause?: unknown }).cause
  }
  return codes
}

// The HTTP client was shut down (undici's ClientDestroyedError): nothing can be sent on it again.
const DESTROYED = new Set(["UND_ERR_DESTROYED", "ClientDestroyedError"])

/** Whether a low-level failure says the HTTP client itself is closed. */
export const isClientDestroyed = (error: unknown): boolean => errorCodes(error).some((c) => DESTROYED.has(c))

/** What a request to a closed client fails with: at once, never retried (see TransportError). */
export const clientClosedError = (
  req: Pick<TransportRequest, "method" | "path" | "jobId" | "batchId">,
  cause?: unknown
): TransportError =>
  withCause(
    new TransportError({
      description: "the client is closed (the layer or ManagedRuntime that provided it was released)",
      method: req.method,
      url: req.path,
      mayHaveReachedServer: false,
      clientClosed: true,
      ...(req.jobId !== undefined ? { jobId: req.jobId } : {}),
      ...(req.batchId !== undefined ? { batchId: req.batchId } : {})
    }),
    cause
  )

// Failures that happen before any byte of the request can have left the machine.
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT", "EHOSTUNREACH", "ENETUNREACH"])

const describe = (error: unknown): string => {
  const codes = errorCodes(error)
  let msg = ""
  let current: unknown = error
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    const m = (current as { message?: unknown }).message
    if (typeof m === "string" && m.length > 0 && !msg.includes(m)) msg = msg ? `${msg}: ${m}` : m
    current = (current as { cause?: unknown }).cause
  }
  const code = codes.find((c) => /^[A-Z_]+$/.test(c))
  return code !== undefined && !msg.includes(code) ? `${msg} (${code})` : msg || "connection failed"
}

/** Keeps the low-level cause on an error (as `Error.cause`, not serialized) for `--verbose`. */
const withCause = <E extends Error>(error: E, cause: unknown): E => {
  if (cause !== undefined) {
    Object.defineProperty(error, "cause", { value: cause, enumerable: false, configurable: true, writable: true })
  }
  return error
}

/** A duration for messages: whole seconds from 10 s up (a budget's rest is never a round number). */
const formatMillis = (millis: number): string =>
  Duration.format(Duration.millis(millis >= 10_000 ? Math.round(millis / 1000) * 1000 : Math.round(millis)))

/** The last failure of a request whose time budget ran out, saying so. */
const budgetSpent = (error: BulkError, budgetMillis: number): BulkError =>
  error._tag !== "TransportError" || error.description.includes("time budget") ? error : withCause(
    new TransportError({
      description: `${error.description} (gave up: the request's time budget of ${formatMillis(budgetMillis)} is spent)`,
      method: error.method,
      url: error.url,
      mayHaveReachedServer: error.mayHaveReachedServer,
      ...(error.jobId !== undefined ? { jobId: error.jobId } : {}),
      ...(error.batchId !== undefined ? { batchId: error.batchId } : {}),
      ...(error.unparseable !== undefined ? { unparseable: error.unparseable } : {})
    }),
    (error as { cause?: unknown }).cause
  )

/** Strip the query string (which may carry SOQL or other caller data) from a URL for errors. */
const safeUrl = (url: URL): string => `${url.origin}${url.pathname}`

/** Parse `Retry-After` (seconds or HTTP date) into milliseconds. */
export const parseRetryAfter = (value: string | undefined, nowMillis: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMillis)
}

/** Escape text for an XML element's content. */
export const escapeXml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")

/** The decoded text of the first `<tag>` (any namespace prefix) in an XML document. */
export const xmlTag = (text: string, tag: string): string | undefined => {
  const m = new RegExp(`<(?:[\\w-]+:)?${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w-]+:)?${tag}>`).exec(text)
  return m === null ? undefined : decodeXmlEntities(m[1]!.trim())
}

/** Decode the five predefined XML entities and numeric character references. */
export const decodeXmlEntities = (text: string): string =>
  text.indexOf("&") === -1 ? text : text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    switch (e) {
      case "lt":
        return "<"
      case "gt":
        return ">"
      case "amp":
        return "&"
      case "quot":
        return "\""
      case "apos":
        return "'"
      default:
        return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
    }
  })

/**
 * Extract Salesforce's error code and message from any of its error body shapes: Bulk 1.0 XML
 * `<error>` or JSON `{exceptionCode}`, Bulk 2.0/REST `[{errorCode,message}]`, OAuth
 * `{error,error_description}`, SOAP faults.
 */
export const parseErrorBody = (
  text: string,
  status: number
): { readonly code: string; readonly message: string } => {
  const trimmed = text.trim()
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      const json: unknown = JSON.parse(trimmed)
      const first: unknown = Array.isArray(json) ? json[0] : json
      if (typeof first === "object" && first !== null) {
        const o = first as Record<string, unknown>
        const code = o.exceptionCode ?? o.errorCode ?? o.error
        const message = o.exceptionMessage ?? o.message ?? o.error_description
        if (typeof code === "string") {
          return { code, message: typeof message === "string" ? message : "" }
        }
      }
    } catch {
      // fall through to the generic shape
    }
  }
  if (trimmed.startsWith("<")) {
    const code = xmlTag(trimmed, "exceptionCode") ?? xmlTag(trimmed, "errorCode") ?? xmlTag(trimmed, "faultcode")
    const message = xmlTag(trimmed, "exceptionMessage") ?? xmlTag(trimmed, "message") ??
      xmlTag(trimmed, "faultstring")
    if (code !== undefined) return { code: code.replace(/^[\w-]+:/, ""), message: message ?? "" }
  }
  return {
    code: status === 429 ? "REQUEST_LIMIT_EXCEEDED" : status >= 500 ? "InternalServerError" : `HTTP_${status}`,
    message: trimmed.length > 0 ? trimmed.slice(0, 500) : `HTTP ${status} with no body`
  }
}

/** Map a non-2xx answer to a BulkError. */
export const errorFromResponse = (
  req: TransportRequest,
  status: number,
  headers: Headers.Headers,
  text: string,
  nowMillis: number
): BulkError => {
  const { code, message } = parseErrorBody(text, status)
  const retryAfterMillis = parseRetryAfter(headers["retry-after"], nowMillis)
  const common = {
    errorCode: code,
    status,
    description: message,
    method: req.method,
    path: req.path,
    ...(req.jobId !== undefined ? { jobId: req.jobId } : {}),
    ...(req.batchId !== undefined ? { batchId: req.batchId } : {}),
    ...(retryAfterMillis !== undefined ? { retryAfterMillis } : {})
  }
  if (status === 429 || code === "REQUEST_LIMIT_EXCEEDED" || code === "ExceededQuota") {
    return new LimitExceededError(common)
  }
  return new ApiError(common)
}

/** Failures a request ended with after its retries: retried as far as the rule and budget allow. */
const settled = new WeakSet<object>()

/**
 * Whether `error` is what a request ended with after the transport's own retries (so resending it
 * again, e.g. resuming a download with a new request, would only spend the budget once more).
 * Failures while a body is read after the request returned are not: they are new.
 */
export const wasRetried = (error: BulkError): boolean => settled.has(error)

/**
 * Whether a failed attempt may be sent again: the error is transient, and either the request is
 * idempotent or the server certainly did not act on it. The one rule for every retry of a request
 * (a body cut off or stalled while read is a `TransportError` that may have reached the server).
 */
export const safeToResend = (error: BulkError, idempotent: boolean, replayable: boolean): boolean => {
  if (!replayable || !error.isRetryable) return false
  switch (error._tag) {
    case "LimitExceededError":
      return true // the server refused the request without acting on it
    case "ApiError":
      return idempotent || error.status === 503 || error.status === 429
    case "TransportError":
      // an answer that arrived whole but cannot be parsed would arrive the same again
      if (error.unparseable === true) return false
      return idempotent || !error.mayHaveReachedServer
    default:
      return false
  }
}

const isGzipMagic = (chunk: Uint8Array): boolean => chunk.length >= 2 && chunk[0] === 0x1f && chunk[1] === 0x8b

/**
 * Gunzips a body with node:zlib, the gzip's first chunk already read. About 4x cheaper in CPU than
 * the web `DecompressionStream`, which hands out 16 KB chunks through an extra transform stream.
 * 64 KB output chunks (256 KB ones cost as much CPU on a 1M-row query and ~10 MB more peak RSS).
 * The inflater's own buffers are handed on as they are: `Readable.toWeb`
 * copied every chunk, and zlib never writes again into a part of its output buffer it has handed
 * out. The inflater (on libuv's thread pool) is paused only once the web stream holds 4 chunks
 * (`maybeGunzip`), so it inflates ahead while the reader parses. A consumer that cancels
 * destroys the inflater, which cancels the source.
 */
const gunzipInto = (
  first: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  controller: ReadableStreamDefaultController<Uint8Array>
): Zlib.Gunzip => {
  const inflater = Zlib.createGunzip({ chunkSize: 64 * 1024 })
  let ended = false
  inflater.once("close", () => {
    if (!ended) reader.cancel().catch(() => undefined)
  })
  inflater.on("data", (chunk: Buffer) => {
    try {
      controller.enqueue(chunk)
    } catch {
      // the reader cancelled: the web stream is closed, and the inflater may still hand out what
      // it had inflated (an enqueue then throws, uncaught in an event handler: the process died)
      inflater.destroy()
      return
    }
    if ((controller.desiredSize ?? 0) <= 0) inflater.pause()
  })
  inflater.once("end", () => {
    try {
      controller.close()
    } catch {
      // cancelled meanwhile: nothing to close
    }
  })
  inflater.once("error", (e) => controller.error(e))
  const pump = async () => {
    if (!inflater.write(first)) await onceEvent(inflater, "drain")
    for (;;) {
      const r = await reader.read()
      if (r.done) break
      if (inflater.destroyed) return
      if (!inflater.write(r.value)) await onceEvent(inflater, "drain")
    }
    ended = true
    inflater.end()
  }
  pump().catch((e: unknown) => inflater.destroy(e instanceof Error ? e : new Error(String(e))))
  return inflater
}

/**
 * Gunzip a body stream if it is gzip. Decided on the magic bytes rather than on Content-Encoding
 * because some HTTP clients (fetch) decompress and keep the header while others (undici.request)
 * hand over the raw bytes. One web stream either way (no stream wrapped in another per chunk);
 * it queues up to 4 chunks, so gunzipping runs ahead of the reader by about 256 KB at most.
 */
const maybeGunzip = (source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> => {
  const reader = source.getReader()
  let mode: "unknown" | "identity" | Zlib.Gunzip = "unknown"
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (mode === "unknown") {
        const first = await reader.read()
        if (first.done) {
          controller.close()
          return
        }
        if (isGzipMagic(first.value)) {
          mode = gunzipInto(first.value, reader, controller)
          return
        }
        mode = "identity"
        controller.enqueue(first.value)
        return
      }
      if (mode === "identity") {
        const r = await reader.read()
        if (r.done) controller.close()
        else controller.enqueue(r.value)
        return
      }
      if (mode.isPaused()) mode.resume()
    },
    cancel(reason) {
      if (mode === "unknown" || mode === "identity") return reader.cancel(reason)
      mode.destroy()
    }
  }, { highWaterMark: 4 })
}

/**
 * The byte stream under a platform answer, when it can be read without Effect: undici's Node
 * stream (`@effect/platform-node`'s client keeps its `Dispatcher.ResponseData` as `source`) or a
 * fetch `Response`'s web stream (`HttpClientResponse.fromWeb` keeps the `Response` as `source`).
 * Anything else (an `HttpClient` of the caller's own) is read through `response.stream`.
 */
const rawBody = (response: HttpClientResponse.HttpClientResponse): Readable | ReadableStream<Uint8Array> | undefined => {
  // the platform's HttpClient hands its client's answer wrapped (an InterruptibleResponse's `original`)
  const inner: unknown = (response as { readonly original?: unknown }).original ?? response
  const source: unknown = (inner as { readonly source?: unknown }).source
  if (typeof source !== "object" || source === null) return undefined
  const body: unknown = (source as { readonly body?: unknown }).body
  if (body instanceof Readable) return body.readableDidRead || body.destroyed ? undefined : body
  if (body instanceof ReadableStream) return body.locked ? undefined : body as ReadableStream<Uint8Array>
  return undefined
}

/** An answer's body read straight from its Node stream (`directBody`). */
interface DirectBody {
  /** The next chunk, `null` at the end, `undefined` when none is there yet; throws the failure. */
  readonly take: () => Uint8Array | null | undefined
  /** Calls `ready` once `take` has something to give (at once when it has). */
  readonly wait: (ready: () => void) => void
  /** Drops the body (and its connection). */
  readonly destroy: () => void
  /** Who reads it, set by the first reader (`bodyStream` or the answer's web body): a body is read once. */
  reader: "none" | "stream" | "web"
  /**
   * The platform's answer, kept while the body is read: the platform aborts an answer's request
   * once the answer is garbage (a FinalizationRegistry), and the body is read here, not through it.
   */
  readonly owner: unknown
}

/** Size of the inflater's output chunks for a direct body (see `directBody`). */
const DIRECT_CHUNK = 16 * 1024

/**
 * A Node body (undici's), gunzipped when `gzip`, read chunk by chunk with no promise and no Effect
 * ever holding a chunk. Why: a promise fulfilled with a chunk (a web stream's pending read) or an
 * Effect giving one (`response.stream`) can outlive a young GC or two, be promoted, and from V8's
 * old generation keep the chunk alive, so the chunk is promoted too and its bytes wait for a full GC
 * (`arrayBuffers` saw-toothed to V8's 64 MB external-memory trigger on every download; see
 * `chunkStage.ts`). Here a chunk is only ever referenced by the stream's own buffer and the
 * synchronous code that takes it. The idle timer runs only while the reader waits for bytes (a
 * plain timer reset on each wait), so a slow reader never trips it.
 * Gunzipped in 16 KB chunks: each output buffer is held by the inflater while the reader parses
 * the chunk before it, so a bigger chunk lives longer and more of them are promoted (5M-row 2.0
 * ingest, peak RSS in the results phase: 16 KB ~176 MB, 64 KB ~209 MB; CPU the same).
 */
const directBody = (
  body: Readable,
  gzip: boolean,
  idle: { readonly millis: number; readonly onIdle: () => TransportError },
  owner: unknown
): DirectBody => {
  // `pipeline` destroys the body with the inflater and passes a failure of the body on to it
  const src: Readable = gzip ? pipeline(body, Zlib.createGunzip({ chunkSize: DIRECT_CHUNK }), () => undefined) : body
  let failure: unknown
  let ended = false
  let waiter: (() => void) | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const wake = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    const ready = waiter
    waiter = undefined
    ready?.()
  }
  const destroy = () => {
    src.destroy()
    body.destroy()
  }
  src.on("readable", wake)
  src.once("end", () => {
    ended = true
    wake()
  })
  src.once("error", (e) => {
    failure ??= e
    wake()
  })
  // closed without its end (destroyed under it): the answer was cut off
  src.once("close", () => {
    if (!ended) failure ??= new Error("the connection closed before the answer's end")
    wake()
  })
  return {
    reader: "none",
    owner,
    take: () => {
      if (failure !== undefined) throw failure
      const chunk: Uint8Array | null = src.read()
      if (chunk !== null) return chunk
      return ended ? null : undefined
    },
    wait: (ready) => {
      // Asks the stream for more first (a read of 0 bytes takes nothing): a gunzip whose output was
      // all taken holds its pending input until its _read is called, and 'readable' is only emitted
      // once it pushes, so without this the wait never ended (1.0 request and result read side by side)
      src.read(0)
      if (failure !== undefined || ended || src.readableLength > 0) return ready()
      // one wait at a time: `wake` clears the timer of the one before
      waiter = ready
      timer = setTimeout(() => {
        failure ??= idle.onIdle()
        destroy()
        wake()
      }, idle.millis)
    },
    destroy: () => {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      waiter = undefined
      destroy()
    }
  }
}

/** A direct body as a web stream, for the answer's text and for readers of `response.stream`. */
const webOfDirect = (direct: DirectBody): ReadableStream<Uint8Array> =>
  new ReadableStream<Uint8Array>({
    pull: (controller) =>
      new Promise<void>((resolve) => {
        if (direct.reader === "stream") {
          controller.error(new Error("the answer's body is already being read"))
          return resolve()
        }
        direct.reader = "web"
        const step = () => {
          try {
            const chunk = direct.take()
            if (chunk === undefined) return direct.wait(step)
            if (chunk === null) controller.close()
            else controller.enqueue(chunk)
          } catch (e) {
            controller.error(e)
          }
          resolve()
        }
        step()
      }),
    cancel: () => direct.destroy()
  }, { highWaterMark: 0 })

/** The direct bodies of the transport's answers, for `bodyStream`. */
const directBodies = new WeakMap<HttpClientResponse.HttpClientResponse, DirectBody>()

/** Whether the transport reads an answer's body straight from undici's Node stream (tests). */
export const readsDirectly = (response: HttpClientResponse.HttpClientResponse): boolean => directBodies.has(response)

/** A web body (a fetch `Response`'s) guarded by the idle timer: each read raced against it. */
const guardWebBody = (
  body: ReadableStream<Uint8Array>,
  idleMillis: number,
  onIdle: () => TransportError,
  /** The platform's answer, kept while the body is read (see `DirectBody.owner`). */
  owner: unknown
): ReadableStream<Uint8Array> => {
  const reader = body.getReader()
  const held = { owner }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onIdle()), idleMillis)
      })
      try {
        const r = await Promise.race([reader.read(), idle])
        if (r.done) {
          held.owner = undefined
          controller.close()
        } else controller.enqueue(r.value)
      } catch (e) {
        held.owner = undefined
        controller.error(e)
        reader.cancel(e).catch(() => undefined)
      } finally {
        clearTimeout(timer)
      }
    },
    cancel(reason) {
      held.owner = undefined
      return reader.cancel(reason)
    }
  }, { highWaterMark: 0 })
}

/**
 * The answer with its body guarded by the idle timeout (no byte for `idleMillis`: the body fails
 * with `onIdle`, which the readers turn back into that error, and the connection is dropped) and
 * gunzipped when it is gzip. The timeout runs only while a byte is awaited, so a slow consumer
 * never trips it: on a plain timer when the body is read directly (`rawBody`), else on the Effect
 * clock. `bodyStream` reads an answer's body with no Effect or promise per chunk.
 */
const guardResponse = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  idleMillis: number,
  onIdle: () => TransportError,
  wireBody: boolean
): Effect.Effect<HttpClientResponse.HttpClientResponse> =>
  Effect.map(Effect.runtime<never>(), (runtime) => {
    if (response.status === 204) return response
    const encoding = response.headers["content-encoding"]
    // an error answer is always gunzipped: it is read as text for the error
    const gzip = encoding !== undefined && /gzip/i.test(encoding) && !(wireBody && response.status < 300)
    const headers = new globalThis.Headers()
    for (const [k, v] of Object.entries(response.headers)) {
      if (!gzip || (k !== "content-encoding" && k !== "content-length")) headers.set(k, v)
    }
    const raw = rawBody(response)
    if (raw instanceof Readable) {
      // undici hands the bytes as they came: its Content-Encoding says whether they are gzip
      const direct = directBody(raw, gzip, { millis: idleMillis, onIdle }, response)
      const guarded = HttpClientResponse.fromWeb(request, new Response(webOfDirect(direct), { status: response.status, headers }))
      directBodies.set(guarded, direct)
      return guarded
    }
    const web = raw === undefined
      ? Stream.toReadableStreamRuntime(Stream.timeoutFail(response.stream, onIdle, Duration.millis(idleMillis)), runtime)
      : guardWebBody(raw, idleMillis, onIdle, response)
    const body = gzip ? maybeGunzip(web) : web
    return HttpClientResponse.fromWeb(request, new Response(body, { status: response.status, headers }))
  })

/**
 * A direct body as a byte stream: the read's effect only waits until bytes are there (it gives
 * nothing), and a synchronous stage takes every chunk there is and writes them on. A reader that
 * stops early (or fails) drops the body, and so its connection.
 */
const directStream = <E>(direct: DirectBody, onError: (e: unknown) => E): Stream.Stream<Uint8Array, E> =>
  Stream.unwrapScoped(Effect.sync(() => {
    direct.reader = "stream"
    let ended = false
    const ready = Effect.async<void>((resume) => direct.wait(() => resume(Effect.void)))
    const ticks = Stream.repeatEffectOption(Effect.suspend(() => ended ? Effect.fail(Option.none()) : ready))
    const chunks = mapChunksOrFail(ticks, () => {
      const out: Array<Uint8Array> = []
      try {
        for (;;) {
          const chunk = direct.take()
          if (chunk === undefined) break
          if (chunk === null) {
            ended = true
            break
          }
          out.push(chunk)
        }
      } catch (e) {
        return Either.left(onError(e))
      }
      return Either.right(Chunk.unsafeFromArray(out))
    })
    return Stream.ensuring(chunks, Effect.sync(() => direct.destroy()))
  }))

/**
 * An answer's body read to its end in ONE effect, each chunk handed to `onChunk` as it comes (for a
 * transport's own answer: no Effect or promise per chunk, the reads driven by plain callbacks;
 * any other answer through `bodyStream`). Why: a download read a chunk per stream step kept its
 * fiber's and channel's per-step objects alive across young GCs while other downloads ran, and
 * V8 promoted them (1.0 ids read, 5M rows: ~110 MB promoted vs ~30 MB read this way). Errors
 * are `requestStream`'s; an interrupted read drops the body (and its connection).
 */
export const readBody = (
  req: TransportRequest,
  response: HttpClientResponse.HttpClientResponse,
  onChunk: (chunk: Uint8Array) => void
): Effect.Effect<void, BulkError> => {
  const direct = directBodies.get(response)
  if (direct === undefined || direct.reader !== "none") {
    return Stream.runForEachChunk(
      Stream.mapError(bodyStream(response), (e) => bodyError(req, e.cause ?? e)),
      (chunk) => Effect.sync(() => Chunk.forEach(chunk, onChunk))
    )
  }
  direct.reader = "stream"
  return Effect.async<void, BulkError>((resume) => {
    const step = (): void => {
      try {
        for (;;) {
          const chunk = direct.take()
          if (chunk === undefined) return direct.wait(step)
          if (chunk === null) return resume(Effect.void)
          onChunk(chunk)
        }
      } catch (e) {
        direct.destroy()
        resume(Effect.fail(bodyError(req, e)))
      }
    }
    step()
    return Effect.sync(() => direct.destroy())
  })
}

/**
 * An answer's body as a byte stream that never hands a chunk through an Effect or a promise (see
 * `directBody`): the read's effect only waits until bytes are there, and a synchronous stage takes
 * them and writes them on. Why not `response.stream`: it gives every chunk as the result of the
 * read's effect, so every downloaded chunk was promoted to V8's old generation and its bytes
 * waited for a full GC. An answer from a fetch `Response` is read the same way from its web body
 * (each read's promise gives nothing, the chunk waits in a variable); any other answer is read
 * through `response.stream`. Errors are the `ResponseError`s `response.stream` gives.
 */
export const bodyStream = (
  response: HttpClientResponse.HttpClientResponse
): Stream.Stream<Uint8Array, HttpClientError.ResponseError> => {
  const onError = (cause: unknown) => new HttpClientError.ResponseError({ request: response.request, response, reason: "Decode", cause })
  const direct = directBodies.get(response)
  if (direct !== undefined && direct.reader === "none") return directStream(direct, onError)
  const source: unknown = (response as { readonly source?: unknown }).source
  if (!(source instanceof Response) || source.body === null || source.bodyUsed || source.body.locked) return response.stream
  const body = source.body
  return Stream.unwrapScoped(Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => body.getReader()),
      (reader) => Effect.promise(() => reader.cancel().catch(() => undefined))
    ),
    (reader) => {
      let held: Uint8Array | undefined
      let ended = false
      const read = Effect.tryPromise({
        try: async () => {
          const r = await reader.read()
          if (r.done) ended = true
          else held = r.value
        },
        catch: (e) => Option.some(onError(e))
      })
      const reads = Stream.repeatEffectOption(Effect.suspend(() => ended ? Effect.fail(Option.none()) : read))
      return mapChunksOrFail(reads, () => {
        const chunk = held
        held = undefined
        return Either.right(chunk === undefined ? Chunk.empty<Uint8Array>() : Chunk.of(chunk))
      })
    }
  ))
}

/**
 * The text of a body read whole with `wireBody` (gunzipped if it is gzip, as an answer's body is),
 * inflated as it is read (on libuv's thread pool, a few 64 KB chunks ahead of the reader). A body
 * that does not inflate (a gzip cut short) fails with `onError`'s error. (Read as a direct body,
 * the parallel download measured no lower peak at 5M rows, and no lower CPU at 1M: held bytes
 * are promoted whatever reads them.)
 */
export const inflateHeld = <E>(
  held: Chunk.Chunk<Uint8Array>,
  onError: (e: unknown) => E
): Stream.Stream<Uint8Array, E> =>
  Stream.suspend(() => {
    const chunks: Array<Uint8Array | undefined> = Chunk.toArray(held)
    let next = 0
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (next >= chunks.length) return controller.close()
        const chunk = chunks[next]!
        chunks[next++] = undefined
        controller.enqueue(chunk)
      }
    }, { highWaterMark: 0 })
    return Stream.fromReadableStream(() => maybeGunzip(source), onError)
  })

const gzipBytes = (bytes: Uint8Array): Effect.Effect<Uint8Array> =>
  Effect.async<Uint8Array>((resume) => {
    Zlib.gzip(bytes, { level: 6 }, (err, out) => {
      // gzip of an in-memory buffer cannot fail except on allocation failure
      if (err) resume(Effect.die(err))
      else resume(Effect.succeed(new Uint8Array(out.buffer, out.byteOffset, out.byteLength)))
    })
  })

/** Gzip a byte stream on the fly (constant memory). */
export const gzipStream = <E>(stream: Stream.Stream<Uint8Array, E>): Stream.Stream<Uint8Array, E> =>
  Stream.unwrapScoped(
    Effect.map(Effect.runtime<never>(), () => {
      const compressed = Stream.toReadableStream(stream).pipeThrough(
        new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>
      )
      return Stream.fromReadableStream(() => compressed, (e) => e as E)
    })
  )

const DEFAULT_GZIP_MIN = 64 * 1024

const redactedNames = ["x-sfdc-session", "authorization"]

// the longest delay setTimeout takes (2^31 - 1 ms); a longer one fires at once
const MAX_TIMER_MILLIS = 2_147_483_647

// ---------------------------------------------------------------------------------------------
// service
// ---------------------------------------------------------------------------------------------

/** Build the transport from SalesforceAuth and an HttpClient. */
export const make = (options?: TransportOptions) =>
  Effect.gen(function*() {
    const auth = yield* SalesforceAuth
    const client = yield* HttpClient.HttpClient
    const schedule = options?.retrySchedule ?? defaultRetrySchedule()
    const attemptMillis = Duration.toMillis(options?.timeout ?? "2 minutes")
    const budgetMillis = Duration.toMillis(options?.budget ?? "2 minutes")
    const idleMillis = Duration.toMillis(options?.idleTimeout ?? "60 seconds")
    const gzipMin = options?.gzipRequests === undefined || options.gzipRequests === false
      ? undefined
      : options.gzipRequests === true
      ? DEFAULT_GZIP_MIN
      : options.gzipRequests.minBytes
    const callOptions = `client=${options?.callOptionsClient ?? "sfbulk"}`
    // Closed with the scope of the layer that built it (after which its HttpClient is gone too):
    // every request then fails at once, instead of retrying on a destroyed connection pool.
    let closed = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
      })
    )

    const prepareBody = (req: TransportRequest, body: HttpBody.HttpBody | undefined): Effect.Effect<{
      readonly body: HttpBody.HttpBody | undefined
      readonly gzipped: boolean
    }> => {
      const wantGzip = req.gzip ?? gzipMin !== undefined
      if (body === undefined || !wantGzip) return Effect.succeed({ body, gzipped: false })
      switch (body._tag) {
        case "Uint8Array":
          if (req.gzip !== true && body.body.length < (gzipMin ?? DEFAULT_GZIP_MIN)) {
            return Effect.succeed({ body, gzipped: false })
          }
          return Effect.map(gzipBytes(body.body), (bytes) => ({
            body: HttpBody.uint8Array(bytes, body.contentType),
            gzipped: true
          }))
        case "Stream":
          return Effect.succeed({
            body: HttpBody.stream(gzipStream(body.stream), body.contentType),
            gzipped: true
          })
        default:
          return Effect.succeed({ body, gzipped: false })
      }
    }

    // The HttpClient runs each attempt in a fiber of its own, forked from this runtime (captured once,
    // when the layer is built) instead of from the caller's fiber: a fork copies its parent's
    // FiberRefs, and a caller deep in an operation carries many, which an attempt held for the tens
    // of milliseconds a request takes (times the requests of a large load) promoted to V8's old
    // space. Set here once rather than per request: the session is redacted wherever that fiber
    // renders headers, and the HttpClient's own `http.client` span is off (see `executeWithin`).
    const clientRuntime = Runtime.setFiberRef(
      Runtime.setFiberRef(yield* Effect.runtime<never>(), HttpClient.currentTracerDisabledWhen, constTrue),
      Headers.currentRedactedNames,
      [...redactedNames, "cookie", "set-cookie"]
    )
    const runFork = Runtime.runFork(clientRuntime)

    /**
     * `client.execute`, failing with `onTimeout()` when the answer's headers have not arrived within
     * `wait` ms: one timer, where `Effect.timeoutFail` raced two forked fibers. The request is
     * interrupted (its connection aborted) before the attempt fails, and when the caller is.
     * No `http.client` span: `sfbulk.request` carries what a user traces (method, path, job and
     * batch), and a `traceparent` header is of no use to Salesforce, which does not join a
     * client's traces, while it tells a third party the user's trace ids.
     */
    const executeWithin = (
      request: HttpClientRequest.HttpClientRequest,
      wait: number,
      onTimeout: () => TransportError
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError | TransportError> =>
      Effect.async((resume) => {
        let done = false
        const fiber = runFork(client.execute(request))
        // past setTimeout's range (about 24.8 days) the attempt waits without a timer, as Effect.sleep does
        const timer = wait <= MAX_TIMER_MILLIS
          ? setTimeout(() => {
            if (done) return
            done = true
            resume(Effect.zipRight(Fiber.interrupt(fiber), Effect.fail(onTimeout())))
          }, wait)
          : undefined
        fiber.addObserver((exit) => {
          if (done) return
          done = true
          clearTimeout(timer)
          resume(exit)
        })
        return Effect.suspend(() => {
          done = true
          clearTimeout(timer)
          return Fiber.interrupt(fiber)
        })
      })

    const send = (
      req: TransportRequest,
      session: Session,
      prepared: { readonly body: HttpBody.HttpBody | undefined; readonly gzipped: boolean },
      deadline: number
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, BulkError> =>
      Effect.flatMap(checkSecureUrl(session.instanceUrl, "Instance URL"), (instance) => {
        if (!req.path.startsWith("/") || req.path.startsWith("//")) {
          return Effect.fail(
            new InvalidInputError({
              what: `request path "${req.path}" must be relative to the instance (start with a single "/")`
            })
          )
        }
        const url = new URL(req.path, instance.origin)
        if (url.origin !== instance.origin) {
          return Effect.fail(
            new InvalidInputError({
              what: `refusing to send the session to ${url.origin}: credentials only go to ${instance.origin}`
            })
          )
        }
        const authHeaders: Record<string, string> = req.api === "1.0"
          ? { "x-sfdc-session": Redacted.value(session.accessToken) }
          : { authorization: `Bearer ${Redacted.value(session.accessToken)}` }
        let request = HttpClientRequest.make(req.method)(url.toString()).pipe(
          HttpClientRequest.setHeaders({
            "accept-encoding": "gzip",
            "sforce-call-options": callOptions,
            ...lowerCaseWithout(req.headers)
          }),
          HttpClientRequest.setHeaders(authHeaders)
        )
        if (req.urlParams !== undefined) request = HttpClientRequest.setUrlParams(request, req.urlParams)
        if (prepared.body !== undefined) {
          request = HttpClientRequest.setBody(request, prepared.body)
          if (prepared.gzipped) request = HttpClientRequest.setHeader(request, "content-encoding", "gzip")
        }
        const transportError = (description: string, mayHaveReachedServer: boolean, cause?: unknown) =>
          withCause(
            new TransportError({
              description,
              method: req.method,
              url: safeUrl(url),
              mayHaveReachedServer,
              ...(req.jobId !== undefined ? { jobId: req.jobId } : {}),
              ...(req.batchId !== undefined ? { batchId: req.batchId } : {})
            }),
            cause
          )
        const failure = (e: HttpClientError.HttpClientError | TransportError): BulkError => {
          if (e._tag === "TransportError") return e
          const cause = e.cause ?? e
          if (e._tag === "ResponseError") {
            return isClientDestroyed(cause) ? clientClosedError(req, cause) : transportError(describe(cause), true, cause)
          }
          return bulkCause(e.cause) ??
            (isClientDestroyed(cause) ? clientClosedError(req, cause) : undefined) ??
            (e.reason === "Transport"
              ? transportError(describe(cause), !errorCodes(e.cause).some((c) => NOT_SENT.has(c)), cause)
              : transportError(`${e.reason}: ${describe(cause)}`, false, cause))
        }
        const own = req.timeout === undefined ? attemptMillis : Duration.toMillis(req.timeout)
        return Effect.clockWith((clock) => {
          // an attempt waits for headers at most its own timeout, and never past the request's budget
          const wait = Math.max(0, Math.min(own, deadline - clock.unsafeCurrentTimeMillis()))
          const onTimeout = () =>
            transportError(
              wait < own
                ? `no response within ${formatMillis(wait)}: the request's time budget of ${formatMillis(budgetMillis)} is spent`
                : `no response within ${formatMillis(wait)}`,
              true
            )
          return Effect.zipRight(countRequest, Effect.mapError(executeWithin(request, wait, onTimeout), failure))
        }).pipe(
          Effect.flatMap((raw) =>
            guardResponse(
              request,
              raw,
              idleMillis,
              () => transportError(`${BODY_ERROR}: no data for ${formatMillis(idleMillis)}`, true),
              req.wireBody === true
            )
          ),
          Effect.flatMap((response) =>
            response.status >= 200 && response.status < 300
              ? Effect.succeed(response)
              : Effect.flatMap(readText(req, response), (text) =>
                Effect.clockWith((clock) =>
                  Effect.fail(errorFromResponse(req, response.status, response.headers, text, clock.unsafeCurrentTimeMillis()))
                ))
          )
        )
      })

    const execute = <A>(
      req: TransportRequest,
      read: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, BulkError>
    ): Effect.Effect<A, BulkError> =>
      Effect.gen(function*() {
        if (closed) return yield* Effect.fail(clientClosedError(req))
        const idempotent = req.idempotent ?? req.method !== "POST"
        const fixed = req.makeBody === undefined ? yield* prepareBody(req, req.body) : undefined
        const replayable = fixed === undefined || fixed.body === undefined || fixed.body._tag !== "Stream"
        const body = fixed !== undefined ? Effect.succeed(fixed) : Effect.suspend(() => prepareBody(req, req.makeBody!()))
        const attempt = (deadline: number) =>
          Effect.gen(function*() {
            if (closed) return yield* Effect.fail(clientClosedError(req))
            const session = yield* auth.session
            const response = yield* send(req, session, yield* body, deadline).pipe(
              Effect.catchIf(isSessionInvalid, () =>
                Effect.gen(function*() {
                  // Salesforce refused the session before acting on the request: a replay is safe
                  const fresh = yield* auth.renew(session)
                  if (!replayable) {
                    return yield* new TransportError({
                      description: "the session expired and was renewed, but a streamed body cannot be replayed",
                      method: req.method,
                      url: `${fresh.instanceUrl}${req.path}`,
                      mayHaveReachedServer: false,
                      ...(req.jobId !== undefined ? { jobId: req.jobId } : {}),
                      ...(req.batchId !== undefined ? { batchId: req.batchId } : {})
                    })
                  }
                  return yield* send(req, fresh, yield* body, deadline).pipe(
                    Effect.catchIf(isSessionInvalid, (e) =>
                      Effect.fail(
                        new SessionExpiredError({
                          instanceUrl: fresh.instanceUrl,
                          description: `Salesforce rejected the renewed session too (${e._tag === "ApiError" ? e.errorCode : ""})`
                        })
                      ))
                  )
                }))
            )
            return yield* read(response)
          })
        // One retry loop for sending and reading: the schedule says when to try again, the budget
        // (counted from the first attempt) bounds the whole sequence, waits included.
        const start = yield* Effect.clockWith((c) => c.currentTimeMillis)
        const deadline = start + budgetMillis
        const end = (error: BulkError) => {
          settled.add(error)
          return Effect.fail(error)
        }
        let state: unknown = schedule.initial
        for (;;) {
          const result = yield* Effect.either(attempt(deadline))
          if (result._tag === "Right") return result.right
          const error = result.left
          if (!safeToResend(error, idempotent, replayable)) return yield* end(error)
          const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
          const [next, , decision] = yield* schedule.step(now, error, state)
          if (ScheduleDecision.isDone(decision)) return yield* end(error)
          const at = Math.max(now, ScheduleIntervals.start(decision.intervals))
          if (at >= deadline) return yield* end(budgetSpent(error, budgetMillis))
          state = next
          if (at > now) yield* Effect.sleep(Duration.millis(at - now))
        }
      }).pipe(
        Effect.withSpan("sfbulk.request", {
          kind: "client",
          // the place is always this one: a stack trace per request would say nothing
          captureStackTrace: false,
          attributes: {
            "http.request.method": req.method,
            "url.path": req.path,
            "sfbulk.api": req.api,
            ...(req.jobId !== undefined ? { "sfbulk.job_id": req.jobId } : {}),
            ...(req.batchId !== undefined ? { "sfbulk.batch_id": req.batchId } : {})
          }
        })
      )

    const request = (req: TransportRequest) => execute(req, Effect.succeed)

    return Transport.of({ apiVersion: auth.apiVersion, request, execute, retrySchedule: schedule, budgetMillis })
  })

const lowerCaseWithout = (headers: Record<string, string> | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  if (headers === undefined) return out
  for (const [k, v] of Object.entries(headers)) {
    const key = k.toLowerCase()
    // the session is only ever set by the transport itself
    if (key === "authorization" || key === "x-sfdc-session") continue
    out[key] = v
  }
  return out
}

/**
 * The transport layer. Its `HttpClient` runs each attempt in a fiber of this layer's runtime: what
 * the client reads from its context or FiberRefs comes from where the layer is built, not the caller.
 */
export const layer = (
  options?: TransportOptions
): Layer.Layer<Transport, never, SalesforceAuth | HttpClient.HttpClient> => Layer.scoped(Transport, make(options))

// ---------------------------------------------------------------------------------------------
// reading bodies with typed errors
// ---------------------------------------------------------------------------------------------

const BODY_ERROR = "reading the response body"

/** A failure while a body is read: the transport's own error (the idle timeout) as it is. */
const bodyError = (req: TransportRequest, e: unknown): BulkError =>
  bulkCause(e) ??
    (isClientDestroyed(e) ? clientClosedError(req, e) : undefined) ??
    withCause(
      new TransportError({
        description: `${BODY_ERROR}: ${describe(e)}`,
        method: req.method,
        url: req.path,
        mayHaveReachedServer: true,
        ...(req.jobId !== undefined ? { jobId: req.jobId } : {}),
        ...(req.batchId !== undefined ? { batchId: req.batchId } : {})
      }),
      e
    )

/** The whole body as text, with a typed error when it is cut off or stalls. */
const readText = (req: TransportRequest, response: HttpClientResponse.HttpClientResponse): Effect.Effect<string, BulkError> =>
  Effect.mapError(response.text, (e) => bodyError(req, e.cause ?? e))

/**
 * Send and read the whole (small) body as text. Sending and reading are one attempt: an answer cut
 * off or stalled mid-body is asked again when the request is safe to re-send, within the budget.
 */
export const requestText = (
  transport: Transport["Type"],
  req: TransportRequest
): Effect.Effect<{ readonly text: string; readonly contentType: string }, BulkError> =>
  transport.execute(
    req,
    (response) => Effect.map(readText(req, response), (text) => ({ text, contentType: response.headers["content-type"] ?? "" }))
  )

/** Send and stream the body (large results). */
export const requestStream = (
  transport: Transport["Type"],
  req: TransportRequest
): Stream.Stream<Uint8Array, BulkError> =>
  Stream.unwrap(
    Effect.map(transport.request(req), (response) => Stream.mapError(bodyStream(response), (e) => bodyError(req, e.cause ?? e)))
  )
