import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpBody from "@effect/platform/HttpBody"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import * as Zlib from "node:zlib"
import type { BulkError } from "../src/BulkError.js"
import { SalesforceAuth, type Session } from "../src/SalesforceAuth.js"
import * as AuthInternal from "../src/internal/auth.js"
import * as Transport from "../src/internal/transport.js"

type Handler = (request: HttpClientRequest.HttpClientRequest, url: URL, n: number) => Response | Error

const INSTANCE = "https://acme.my.salesforce.com"

/** A fake HttpClient recording every request it sees. */
const fakeClient = (handler: Handler) => {
  const seen: Array<{ method: string; url: string; headers: Record<string, string>; body?: Uint8Array }> = []
  const client = HttpClient.make((request, url) =>
    Effect.suspend(() => {
      seen.push({
        method: request.method,
        url: url.toString(),
        headers: { ...request.headers },
        ...(request.body._tag === "Uint8Array" ? { body: request.body.body } : {})
      })
      const out = handler(request, url, seen.length)
      if (out instanceof Error) {
        return Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: out }))
      }
      return Effect.succeed(HttpClientResponse.fromWeb(request, out))
    })
  )
  return { client, seen }
}

/** An auth whose logins hand out token-1, token-2, ... and count themselves. */
const countingAuth = (instanceUrl = INSTANCE, loginDelay: string | undefined = undefined) => {
  let logins = 0
  const login = Effect.sync((): Session => {
    logins++
    return { instanceUrl, accessToken: Redacted.make(`token-${logins}`), apiVersion: "66.0" }
  }).pipe((self) => loginDelay === undefined ? self : Effect.delay(self, loginDelay as "10 millis"))
  const layer = Layer.effect(SalesforceAuth, AuthInternal.make({ apiVersion: "66.0", login }))
  return { layer, logins: () => logins }
}

const build = (
  handler: Handler,
  options?: Transport.TransportOptions,
  auth: Layer.Layer<SalesforceAuth, never> = countingAuth().layer
) => {
  const fake = fakeClient(handler)
  const layer = Transport.layer(options).pipe(
    Layer.provide(auth),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, fake.client))
  )
  return { layer, seen: fake.seen }
}

const ok = (body = "<ok/>", init?: ResponseInit) => new Response(body, { status: 200, ...init })
const xmlError = (code: string, message: string, status = 400) =>
  new Response(
    `<?xml version="1.0" encoding="UTF-8"?><error xmlns="http://www.force.com/2009/06/asyncapi/dataload"><exceptionCode>${code}</exceptionCode><exceptionMessage>${message}</exceptionMessage></error>`,
    { status, headers: { "content-type": "application/xml" } }
  )
const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })

const get1: Transport.TransportRequest = { method: "GET", path: "/services/async/66.0/job/750x", api: "1.0", jobId: "750x" }

const run = <A>(layer: Layer.Layer<Transport.Transport>, f: (t: Transport.Transport["Type"]) => Effect.Effect<A, BulkError>) =>
  Effect.flatMap(Transport.Transport, f).pipe(Effect.provide(layer))

describe("Transport", () => {
  it.effect("signs Bulk 1.0 with X-SFDC-Session and 2.0 with a Bearer token, asks for gzip", () =>
    Effect.gen(function*() {
      const { layer, seen } = build(() => ok())
      yield* run(layer, (t) =>
        Effect.zip(
          t.request(get1),
          t.request({ method: "GET", path: "/services/data/v66.0/jobs/ingest", api: "2.0" })
        ))
      expect(seen[0]!.headers["x-sfdc-session"]).toBe("token-1")
      expect(seen[0]!.headers["authorization"]).toBeUndefined()
      expect(seen[0]!.headers["accept-encoding"]).toBe("gzip")
      expect(seen[1]!.headers["authorization"]).toBe("Bearer token-1")
      expect(seen[1]!.headers["x-sfdc-session"]).toBeUndefined()
    }))

  it.effect("renews an expired 1.0 session once and replays the request", () =>
    Effect.gen(function*() {
      const auth = countingAuth()
      const { layer, seen } = build(
        (req) => req.headers["x-sfdc-session"] === "token-1" ? xmlError("InvalidSessionId", "Invalid session id") : ok(),
        undefined,
        auth.layer
      )
      const fiber = yield* Effect.fork(run(layer, (t) => t.request(get1)))
      yield* TestClock.adjust("1 second")
      const response = yield* Fiber.join(fiber)
      expect(response.status).toBe(200)
      expect(seen.map((s) => s.headers["x-sfdc-session"])).toEqual(["token-1", "token-2"])
      expect(auth.logins()).toBe(2)
    }))

  it.effect("concurrent requests that hit expiry share one renewal (2.0 401)", () =>
    Effect.gen(function*() {
      const auth = countingAuth(INSTANCE, "10 millis")
      const { layer } = build(
        (req) =>
          req.headers["authorization"] === "Bearer token-1"
            ? new Response(`[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, { status: 401 })
            : ok(),
        undefined,
        auth.layer
      )
      const fiber = yield* Effect.fork(run(layer, (t) =>
        Effect.all(
          Array.from({ length: 8 }, () => t.request({ method: "GET", path: "/services/data/v66.0/jobs/query", api: "2.0" })),
          { concurrency: "unbounded" }
        )))
      yield* TestClock.adjust("1 second")
      const responses = yield* Fiber.join(fiber)
      expect(responses.every((r) => r.status === 200)).toBe(true)
      expect(auth.logins()).toBe(2) // the first login + exactly one renewal
    }))

  it.effect("a bare session that expires fails with SessionExpiredError saying it cannot renew", () =>
    Effect.gen(function*() {
      const auth = AuthInternal.fromSession({ instanceUrl: INSTANCE, accessToken: "abc" })
      const { layer, seen } = build(() => xmlError("InvalidSessionId", "Invalid session id"), undefined, Layer.orDie(auth))
      const exit = yield* Effect.exit(run(layer, (t) => t.request(get1)))
      expect(seen).toHaveLength(1)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        const error = exit.cause.error
        expect(error._tag).toBe("SessionExpiredError")
        expect(error.message).toMatch(/bare access token/)
        expect(error.message).not.toMatch(/abc/)
      }
    }))

  it.effect("retries a GET on 503 and on a connection reset, then succeeds", () =>
    Effect.gen(function*() {
      const { layer, seen } = build((_, __, n) =>
        n === 1 ? new Response("down", { status: 503 }) : n === 2 ? withCode("socket hang up", "ECONNRESET") : ok()
      )
      const fiber = yield* Effect.fork(run(layer, (t) => t.request(get1)))
      yield* TestClock.adjust("10 seconds")
      const response = yield* Fiber.join(fiber)
      expect(response.status).toBe(200)
      expect(seen).toHaveLength(3)
    }))

  // An HttpClient whose answers never come, counting the requests it saw and those interrupted.
  const silentClient = () => {
    let started = 0
    let interrupted = 0
    const client = HttpClient.make(() =>
      Effect.suspend(() => {
        started++
        return Effect.onInterrupt(Effect.never, () => Effect.sync(() => void interrupted++))
      })
    )
    const layer = Transport.layer({ timeout: "100 millis", budget: "10 seconds" }).pipe(
      Layer.provide(countingAuth().layer),
      Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
    )
    return { layer, started: () => started, interrupted: () => interrupted }
  }

  it.live("an attempt with no answer fails typed at its timeout, its request interrupted (connection dropped) first", () =>
    Effect.gen(function*() {
      const silent = silentClient()
      // a POST is not re-sent: one attempt
      const error = yield* Effect.flip(
        run(silent.layer, (t) => t.request({ method: "POST", path: "/services/async/66.0/job", api: "1.0", body: HttpBody.text("<x/>") }))
      )
      expect(error._tag).toBe("TransportError")
      expect(error.message).toMatch(/no response within 100ms/)
      expect(silent.started()).toBe(1)
      expect(silent.interrupted()).toBe(1)
    }))

  it.live("interrupting a caller interrupts its request in flight", () =>
    Effect.gen(function*() {
      const silent = silentClient()
      const fiber = yield* Effect.fork(run(silent.layer, (t) => t.request({ ...get1, timeout: "1 minute" })))
      while (silent.started() === 0) yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(fiber)
      expect(silent.interrupted()).toBe(1)
    }))

  it.effect("a closed HTTP client (UND_ERR_DESTROYED) is never retried: one attempt, a typed error saying what to do", () =>
    Effect.gen(function*() {
      const destroyed = Object.assign(new Error("The client is destroyed"), { code: "UND_ERR_DESTROYED", name: "ClientDestroyedError" })
      const { layer, seen } = build(() => destroyed)
      const error = yield* Effect.flip(run(layer, (t) => t.request(get1)))
      expect(seen).toHaveLength(1)
      expect(error).toMatchObject({ _tag: "TransportError", clientClosed: true, mayHaveReachedServer: false })
      expect(error.isRetryable).toBe(false)
      expect(error.message).toContain("inside the scope that provides BulkClient")
    }))

  it.effect("a transport whose layer was released fails every request at once, without sending", () =>
    Effect.gen(function*() {
      const { layer, seen } = build(() => ok())
      const t = yield* Effect.scoped(Layer.build(layer)).pipe(
        Effect.map((ctx) => ctx.unsafeMap.get(Transport.Transport.key) as Transport.Transport["Type"])
      )
      const error = yield* Effect.flip(t.request(get1))
      expect(seen).toHaveLength(0)
      expect(error).toMatchObject({ _tag: "TransportError", clientClosed: true })
    }))

  it.effect("honours Retry-After on 429", () =>
    Effect.gen(function*() {
      const { layer, seen } = build((_, __, n) =>
        n === 1 ? new Response("slow down", { status: 429, headers: { "retry-after": "30" } }) : ok()
      )
      const fiber = yield* Effect.fork(run(layer, (t) => t.request(get1)))
      yield* TestClock.adjust("29 seconds")
      expect(seen).toHaveLength(1)
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      expect(seen).toHaveLength(2)
    }))

  it.effect("a POST whose connection was reset is not re-sent; the error says it may have arrived", () =>
    Effect.gen(function*() {
      const { layer, seen } = build(() => withCode("socket hang up", "ECONNRESET"))
      const exit = yield* Effect.exit(run(layer, (t) =>
        t.request({
          method: "POST",
          path: "/services/async/66.0/job/750x/batch",
          api: "1.0",
          jobId: "750x",
          body: HttpBody.text("Name\nA\n", "text/csv")
        })))
      expect(seen).toHaveLength(1)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        const error = exit.cause.error
        expect(error._tag).toBe("TransportError")
        if (error._tag === "TransportError") {
          expect(error.mayHaveReachedServer).toBe(true)
          expect(error.isRetryable).toBe(true)
          expect(error.jobId).toBe("750x")
        }
      } else expect.fail("expected a failure")
    }))

  it.effect("a POST refused before connecting, or throttled, is re-sent", () =>
    Effect.gen(function*() {
      const { layer, seen } = build((_, __, n) =>
        n === 1
          ? withCode("connect ECONNREFUSED", "ECONNREFUSED")
          : n === 2
          ? new Response(`[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"ConcurrentPerOrgLongTxn Limit exceeded."}]`, { status: 403 })
          : ok()
      )
      const fiber = yield* Effect.fork(
        run(layer, (t) => t.request({ method: "POST", path: "/services/async/66.0/job", api: "1.0", body: HttpBody.text("<x/>") }))
      )
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      expect(seen).toHaveLength(3)
    }))

  it.effect("a streamed body made afresh (makeBody) is replayed after a session renewal; a one-shot Stream is not", () =>
    Effect.gen(function*() {
      const expired = (req: HttpClientRequest.HttpClientRequest) =>
        req.headers["authorization"] === "Bearer token-1"
          ? new Response(`[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, { status: 401 })
          : new Response("", { status: 201 })
      const put = { method: "PUT", path: "/services/data/v66.0/jobs/ingest/750x/batches", api: "2.0", idempotent: false } as const
      const bytes = new TextEncoder().encode("Name\nA\n")
      let made = 0
      const replayable = build(expired)
      const fiber = yield* Effect.fork(
        run(
          replayable.layer,
          (t) => t.request({ ...put, makeBody: () => (made++, HttpBody.stream(Stream.make(bytes), "text/csv", bytes.length)) })
        )
      )
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber)).status).toBe(201)
      expect(replayable.seen.map((s) => s.headers["authorization"])).toEqual(["Bearer token-1", "Bearer token-2"])
      expect(made).toBe(2)
      const oneShot = build(expired)
      const fiber2 = yield* Effect.fork(
        Effect.flip(run(oneShot.layer, (t) => t.request({ ...put, body: HttpBody.stream(Stream.make(bytes), "text/csv", bytes.length) })))
      )
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber2)
      expect(error._tag).toBe("TransportError")
      expect(error.message).toMatch(/cannot be replayed/)
      expect(oneShot.seen).toHaveLength(1)
    }))

  it.effect("a TransportError keeps the low-level cause (for --verbose) without showing it in its fields", () =>
    Effect.gen(function*() {
      const { layer } = build(() => withCode("socket hang up", "ECONNRESET"), { retrySchedule: Schedule.stop })
      const error = yield* Effect.flip(run(layer, (t) => t.request(get1)))
      expect(error._tag).toBe("TransportError")
      expect((error as { cause?: { code?: string } }).cause?.code).toBe("ECONNRESET")
      expect(Object.keys(error)).not.toContain("cause")
    }))

  it.effect("stops retrying when the total budget is spent", () =>
    Effect.gen(function*() {
      const { layer, seen } = build(() => new Response("boom", { status: 500 }), {
        retrySchedule: Transport.defaultRetrySchedule({ budget: "5 seconds", maxRetries: 100, initialDelay: "1 second" })
      })
      const fiber = yield* Effect.fork(Effect.exit(run(layer, (t) => t.request(get1))))
      yield* TestClock.adjust("1 minute")
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      // delays in [d/2, d] with d = 1, 2, 4 s: at most 3 retries fit in 5 s
      expect(seen.length).toBeGreaterThanOrEqual(2)
      expect(seen.length).toBeLessThanOrEqual(4)
    }))

  it.effect("the retry schedule can be replaced", () =>
    Effect.gen(function*() {
      const { layer, seen } = build(() => new Response("boom", { status: 502 }), {
        retrySchedule: Schedule.recurs(5)
      })
      const exit = yield* Effect.exit(run(layer, (t) => t.request(get1)))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(seen).toHaveLength(6)
    }))

  it.effect("maps every error body shape to a typed error", () =>
    Effect.gen(function*() {
      const bodies: Array<[Response, string, string]> = [
        [xmlError("InvalidJob", "Unable to find object: Accountt"), "ApiError", "InvalidJob"],
        [
          new Response(`{"exceptionCode":"InvalidBatch","exceptionMessage":"Records not processed"}`, { status: 400 }),
          "ApiError",
          "InvalidBatch"
        ],
        [
          new Response(`[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`, { status: 404 }),
          "ApiError",
          "NOT_FOUND"
        ],
        [
          new Response(`{"error":"invalid_grant","error_description":"authentication failure"}`, { status: 400 }),
          "ApiError",
          "invalid_grant"
        ],
        [xmlError("ExceededQuota", "ApiBatchItems Limit exceeded."), "LimitExceededError", "ExceededQuota"],
        [new Response("", { status: 404 }), "ApiError", "HTTP_404"]
      ]
      for (const [response, tag, code] of bodies) {
        const { layer } = build(() => response, { retrySchedule: Schedule.stop })
        const exit = yield* Effect.exit(run(layer, (t) => t.request(get1)))
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          const error = exit.cause.error
          expect(error._tag).toBe(tag)
          if (error._tag === "ApiError" || error._tag === "LimitExceededError") {
            expect(error.errorCode).toBe(code)
            expect(error.jobId).toBe("750x")
            expect(error.message).toContain(code)
          }
        } else expect.fail(`expected ${tag}`)
      }
    }))

  it.effect("decodes gzip answers", () =>
    Effect.gen(function*() {
      const text = "Id,Name\n" + "001x,Acme\n".repeat(1000)
      const { layer } = build(() =>
        new Response(Zlib.gzipSync(text), { status: 200, headers: { "content-encoding": "gzip", "content-type": "text/csv" } })
      )
      const result = yield* run(layer, (t) => Transport.requestText(t, get1))
      expect(result.text).toBe(text)
    }))

  // A gzip body many times the inflater's 64 KB output, arriving in small pieces and read slowly:
  // every byte once, in order (multi-byte UTF-8 and quoted CRLF cut at every kind of boundary).
  const bigText = () => {
    const lines = ["Id,Name,Note"]
    for (let i = 0; i < 40_000; i++) lines.push(`001${i},"Zoë ${i} 😀 ü","a\r\nb ""q"" ${"é".repeat(i % 7)}"`)
    return lines.join("\r\n") + "\r\n"
  }
  const dribble = (bytes: Uint8Array, piece: number, cutAt = bytes.length) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < cutAt; i += piece) c.enqueue(bytes.slice(i, Math.min(i + piece, cutAt)))
        if (cutAt === bytes.length) c.close()
        else c.error(new Error("socket hang up"))
      }
    })
  const gzipAnswer = (body: ReadableStream<Uint8Array>) =>
    new Response(body, { status: 200, headers: { "content-encoding": "gzip", "content-type": "text/csv" } })

  it.live("a large gzip body in small pieces, read slowly, comes out whole and in order", () =>
    Effect.gen(function*() {
      const text = bigText()
      const gz = Zlib.gzipSync(text)
      for (const piece of [997, 65_536 + 13]) {
        const { layer } = build(() => gzipAnswer(dribble(gz, piece)))
        let n = 0
        const chunks = yield* run(layer, (t) =>
          Stream.runCollect(Stream.mapEffect(Transport.requestStream(t, get1), (c) =>
            // every few chunks the reader is slower than the inflater: the inflater must wait
            ++n % 5 === 0 ? Effect.as(Effect.sleep("2 millis"), c) : Effect.succeed(c))))
        expect(Buffer.concat([...chunks]).toString("utf8")).toBe(text)
      }
    }))

  it.live("a gzip body cut off mid-body fails typed, and a reader that stops early ends", () =>
    Effect.gen(function*() {
      const gz = Zlib.gzipSync(bigText())
      const cut = build(() => gzipAnswer(dribble(gz, 4096, Math.floor(gz.length / 2))))
      const exit = yield* Effect.exit(run(cut.layer, (t) => Stream.runDrain(Transport.requestStream(t, get1))))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("TransportError")
      const whole = build(() => gzipAnswer(dribble(gz, 4096)))
      const head = yield* run(whole.layer, (t) => Stream.runCollect(Stream.take(Transport.requestStream(t, get1), 2)))
      expect(head.length).toBe(2)
      expect(Buffer.from([...head][0]!).toString("utf8").startsWith("Id,Name,Note\r\n001")).toBe(true)
    }))

  it.effect("gzips large request bodies when asked", () =>
    Effect.gen(function*() {
      const { layer, seen } = build(() => ok(), { gzipRequests: { minBytes: 10 } })
      const csv = "Name\n" + "Acme\n".repeat(100)
      yield* run(layer, (t) =>
        t.request({ method: "POST", path: "/services/async/66.0/job/750x/batch", api: "1.0", body: HttpBody.text(csv, "text/csv") }))
      expect(seen[0]!.headers["content-encoding"]).toBe("gzip")
      expect(Zlib.gunzipSync(seen[0]!.body!).toString()).toBe(csv)
    }))

  it.effect("each request is a span with method, path, job and batch ids, and never the token", () =>
    Effect.gen(function*() {
      const spans: Array<{ name: string; attributes: Map<string, unknown> }> = []
      let n = 0
      const tracer = Tracer.make({
        span: (name, parent, context, links, _startTime, kind) => {
          const attributes = new Map<string, unknown>()
          spans.push({ name, attributes })
          const span: Tracer.Span = {
            _tag: "Span",
            name,
            spanId: `s${++n}`,
            traceId: "t",
            parent,
            context,
            links,
            kind,
            sampled: true,
            status: { _tag: "Started", startTime: 0n },
            attributes,
            end: () => {},
            attribute: (k, v) => void attributes.set(k, v),
            event: () => {},
            addLinks: () => {}
          }
          return span
        },
        context: (f) => f()
      })
      const { layer, seen } = build(() => ok())
      yield* run(layer, (t) => t.request({ ...get1, batchId: "751y" })).pipe(Effect.withTracer(tracer))
      const mine = spans.find((s) => s.name === "sfbulk.request")!
      expect(Object.fromEntries(mine.attributes)).toMatchObject({
        "http.request.method": "GET",
        "url.path": "/services/async/66.0/job/750x",
        "sfbulk.job_id": "750x",
        "sfbulk.batch_id": "751y"
      })
      const everything = JSON.stringify(spans.map((s) => [s.name, Object.fromEntries(s.attributes)]), (_, v) =>
        typeof v === "bigint" ? String(v) : v)
      expect(everything).not.toContain("token-1")
      // one span per request, the transport's: no HttpClient span of its own, and no trace context
      // sent to Salesforce, which does not join a client's traces
      expect(spans.map((s) =>
        s.name
      )).toEqual(["sfbulk.request"])
      expect(Object.keys(seen[0]!.headers).filter((h) => h === "traceparent" || h.startsWith("x-b3") || h === "b3")).toEqual([])
    }))

  it.effect("never sends the token to another origin or over plain http", () =>
    Effect.gen(function*() {
      const { layer, seen } = build(() => ok())
      const exit = yield* Effect.exit(run(layer, (t) => t.request({ ...get1, path: "//evil.example.com/steal" })))
      expect(Exit.isFailure(exit)).toBe(true)
      const insecure = build(() => ok(), undefined, countingAuth("http://acme.example.com").layer)
      const exit2 = yield* Effect.exit(run(insecure.layer, (t) => t.request(get1)))
      if (Exit.isFailure(exit2) && exit2.cause._tag === "Fail") {
        expect(exit2.cause.error._tag).toBe("InvalidInputError")
        expect(exit2.cause.error.message).toMatch(/https/)
      } else expect.fail("expected InvalidInputError")
      expect(seen).toHaveLength(0)
      expect(insecure.seen).toHaveLength(0)
      const loopback = build(() => ok(), undefined, countingAuth("http://127.0.0.1:8080").layer)
      const fiber = yield* Effect.fork(run(loopback.layer, (t) => t.request(get1)))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(loopback.seen).toHaveLength(1)
    }))
})
