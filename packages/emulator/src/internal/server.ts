/**
 * The emulator's HTTP server (node:http, no framework): routing, authentication, gzip in and out,
 * fault injection, and the `RequestContext` the Bulk API handlers run on.
 */
import { once } from "node:events"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { Readable, Transform } from "node:stream"
import { setTimeout as delay } from "node:timers/promises"
import { createGunzip, createGzip, createInflate, gzipSync } from "node:zlib"
import * as auth from "./auth.js"
import { handle as handleBulk1 } from "./bulk1/index.js"
import { handle as handleBulk2 } from "./bulk2/index.js"
import { describeBody } from "./describe.js"
import type { EmulatorSettings, EmulatorState, Handler, RequestContext, SessionInfo } from "./context.js"
import * as faults from "./faults.js"
import type { OrgApi } from "./model.js"
import { Processing, type ProcessingSettings, type Usage } from "./processing.js"
import { bulk1Error } from "./xml.js"

/** Lowest and highest API versions served; versions below MIN are retired. */
export const MIN_VERSION = 31
export const MAX_VERSION = 66
/** The version the emulator's facts advertise. */
export const DEFAULT_VERSION = "66.0"

/** An org plus its identity, as `Org.make` returns it. */
export interface ServerOrg extends OrgApi {
  readonly userId: string
  readonly orgId: string
  newId(prefix: string): string
}

/** Everything the server is built from. */
export interface ServerConfig {
  readonly org: ServerOrg
  readonly settings: EmulatorSettings
  readonly credentials: auth.Credentials
  readonly sessionTtlSeconds: number
  readonly faults: faults.FaultConfig
  readonly seed: number
  /** Delay of a `slow` fault. */
  readonly slowMs: number
  /** Inject faults into the login endpoints too. */
  readonly faultLogin: boolean
  /** `Retry-After` seconds on 429 answers. */
  readonly retryAfterSeconds: number
  /** The processing model's knobs (loopback: all off). */
  readonly processing: ProcessingSettings
  readonly now: () => number
}

type Api = "login" | "rest" | "bulk1" | "bulk2" | "other"

/** Counters exposed by `stats()` and `GET /__emulator/stats`. */
export interface Stats {
  /** Requests received (the `/__emulator` endpoints excluded). */
  readonly requests: number
  readonly byApi: Readonly<Record<Api, number>>
  /** Faults injected, by kind. */
  readonly faults: Readonly<faults.FaultCounts>
  readonly sessions: { readonly issued: number; readonly active: number }
  /** Current fault spec (normalized) and seed. */
  readonly faultSpec: string
  readonly seed: number
  /** Daily allocations used so far (API requests, Bulk API batches, 2.0 query jobs). */
  readonly usage: Readonly<Usage>
  /** The processing model in force (profile and every knob). */
  readonly processing: ProcessingSettings
}

/** Options of `setFaults` besides the spec. */
export interface FaultOptions {
  readonly seed?: number
  readonly slowMs?: number
  readonly faultLogin?: boolean
  /**
   * Only requests whose `"METHOD /path"` (no query string) matches this regular expression draw
   * faults; the others are never faulted and do not advance the PRNG. Applies to the spec it is
   * given with: every `setFaults` call without it clears it.
   */
  readonly match?: string
}

/** A started server. */
export interface EmulatorServer {
  readonly origin: string
  readonly port: number
  readonly state: EmulatorState
  readonly sessions: auth.Sessions
  stats(): Stats
  /** Replace the fault config; restarts the PRNGs from `seed` (the current seed when omitted). */
  setFaults(config: faults.FaultConfig, options?: FaultOptions): void
  close(): Promise<void>
}

const JSON_TYPE = "application/json;charset=UTF-8"
const XML_TYPE = "application/xml"

const restError = (errorCode: string, message: string): string => JSON.stringify([{ message, errorCode }])

const NOT_FOUND_REST = restError("NOT_FOUND", "The requested resource does not exist")
const INVALID_SESSION_REST = restError("INVALID_SESSION_ID", "Session expired or invalid")

/** Release names of API versions: v66.0 is Spring '26, three releases a year. */
const versionLabel = (major: number): string => {
  const back = MAX_VERSION - major
  const year = 26 - Math.floor(back / 3)
  const season = back % 3
  return season === 0 ? `Spring '${year}` : season === 1 ? `Winter '${year}` : `Summer '${year - 1}`
}

const parseVersion = (s: string): number | undefined => {
  const m = /^(\d+)\.0$/.exec(s)
  return m ? Number(m[1]) : undefined
}

const acceptsGzip = (req: IncomingMessage): boolean => {
  const v = req.headers["accept-encoding"]
  if (v === undefined) return false
  return String(v).split(",").some((part) => {
    const [name, ...params] = part.trim().toLowerCase().split(";")
    if (name !== "gzip" && name !== "x-gzip") return false
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="))
    return q === undefined || Number(q.slice(2)) > 0
  })
}

/** The request body as a stream, decoded per `Content-Encoding`. */
const decodedBody = (req: IncomingMessage): Readable => {
  const enc = String(req.headers["content-encoding"] ?? "").trim().toLowerCase()
  if (enc === "gzip" || enc === "x-gzip") return pipeInto(req, createGunzip())
  if (enc === "deflate") return pipeInto(req, createInflate())
  return req
}

const pipeInto = (req: IncomingMessage, decoder: Transform): Readable => {
  req.on("error", (e) => decoder.destroy(e))
  req.on("aborted", () => decoder.destroy(new Error("request aborted")))
  return req.pipe(decoder)
}

const readAll = async (stream: Readable): Promise<Buffer> => {
  const chunks: Array<Buffer> = []
  for await (const c of stream) chunks.push(typeof c === "string" ? Buffer.from(c) : c)
  return Buffer.concat(chunks)
}

/** Wait for `drain`, or give up when the destination closes. */
const drained = (w: NodeJS.WritableStream & { destroyed?: boolean }, res: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    const done = () => {
      w.removeListener("drain", done)
      res.removeListener("close", done)
      resolve()
    }
    w.once("drain", done)
    res.once("close", done)
  })

const GZIP_SYNC_LIMIT = 64 * 1024

interface Responder {
  send: RequestContext["send"]
  sendStream: RequestContext["sendStream"]
}

/**
 * How an answer is damaged by a fault: `cut` (a `reset` on a request without a body, or
 * `lost-answer`) writes the head and part of the body, then destroys the socket; `stall` writes
 * the head and part of the body, waits, then writes the rest.
 */
type AnswerFault = "none" | "cut" | "stall"

/** Flags one request's fault decision leaves for its answer. */
interface AnswerFlags {
  answer: AnswerFault
}

/**
 * `send`/`sendStream` for one response, damaged as `fault()` says. A damaged answer is never
 * gzipped, so the part written is a readable prefix. An empty body has nothing to cut into: `cut`
 * destroys the socket before the head (the client never learns the status), `stall` holds the whole
 * answer back for `stallMs()`.
 */
const responder = (req: IncomingMessage, res: ServerResponse, fault: () => AnswerFault, stallMs: () => number): Responder => {
  const gzip = acceptsGzip(req)
  const head = (status: number, contentType: string | undefined, headers: Record<string, string> | undefined, encoded: boolean) => {
    if (contentType !== undefined) res.setHeader("Content-Type", contentType)
    if (headers) { for (const [k, v] of Object.entries(headers)) res.setHeader(k, v) }
    if (encoded) {
      res.setHeader("Content-Encoding", "gzip")
      res.setHeader("Vary", "Accept-Encoding")
    }
    res.statusCode = status
  }
  /** Wait `stallMs`; false when the client went away meanwhile. Unref'd: a stall never keeps a process alive. */
  const stalled = async (): Promise<boolean> => {
    await delay(stallMs(), undefined, { ref: false })
    return !res.destroyed
  }
  const send: RequestContext["send"] = (status, contentType, body, headers) => {
    if (res.headersSent || res.destroyed) return
    let buf = typeof body === "string" ? Buffer.from(body, "utf8") : body
    const damage = fault()
    if (damage !== "none") {
      if (buf.length === 0) {
        if (damage === "cut") {
          res.destroy()
          return
        }
        void stalled().then((alive) => {
          if (!alive) return
          head(status, contentType, headers, false)
          res.setHeader("Content-Length", "0")
          res.end()
        })
        return
      }
      head(status, contentType, headers, false)
      res.setHeader("Content-Length", String(buf.length))
      res.flushHeaders()
      const part = Math.max(1, Math.floor(buf.length / 2))
      if (damage === "cut") {
        res.write(buf.subarray(0, part), () => res.destroy())
        return
      }
      res.write(buf.subarray(0, part))
      void stalled().then((alive) => {
        if (alive) res.end(buf.subarray(part))
      })
      return
    }
    const encode = gzip && buf.length > 0 && status !== 204 && status !== 304
    if (encode && buf.length > GZIP_SYNC_LIMIT) {
      head(status, contentType, headers, true)
      const z = createGzip()
      z.pipe(res)
      z.end(buf)
      return
    }
    if (encode) buf = gzipSync(buf, { level: 1 })
    head(status, contentType, headers, encode)
    res.setHeader("Content-Length", String(buf.length))
    res.end(buf)
  }
  const sendStream: RequestContext["sendStream"] = async (status, contentType, body, headers) => {
    if (res.headersSent || res.destroyed) return
    const damage = fault()
    const encode = gzip && damage === "none" && status !== 204
    head(status, contentType, headers, encode)
    const out: NodeJS.WritableStream = encode ? createGzip() : res
    if (encode) (out as ReturnType<typeof createGzip>).pipe(res)
    let pending = damage
    for await (const chunk of body) {
      if (res.destroyed) return
      const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk
      if (buf.length === 0) continue
      if (pending !== "none") {
        const part = Math.max(1, Math.floor(buf.length / 2))
        if (pending === "cut") {
          res.write(buf.subarray(0, part), () => res.destroy())
          return
        }
        res.write(buf.subarray(0, part))
        if (!(await stalled())) return
        pending = "none"
        if (!out.write(buf.subarray(part))) await drained(out, res)
        continue
      }
      if (!out.write(buf)) await drained(out, res)
    }
    if (res.destroyed) return
    if (pending === "cut") {
      res.destroy()
      return
    }
    if (pending === "stall" && !(await stalled())) return
    out.end()
    if (!res.writableFinished) await Promise.race([once(res, "finish"), once(res, "close")])
  }
  return { send, sendStream }
}

/** Start the server on `port` (0 picks a free one) and `host`. */
export const start = async (config: ServerConfig, port: number, host: string): Promise<EmulatorServer> => {
  const org = config.org
  const faultState = new faults.Faults(config.faults, config.seed)
  let slowMs = config.slowMs
  let faultLogin = config.faultLogin
  let faultMatch: RegExp | undefined
  const sessions = new auth.Sessions(org.orgId, org.userId, config.sessionTtlSeconds * 1000, config.now)
  const counts: Record<Api, number> = { login: 0, rest: 0, bulk1: 0, bulk2: 0, other: 0 }
  let requests = 0
  let origin = ""
  const authContext: auth.AuthContext = {
    credentials: config.credentials,
    sessions,
    origin: () => origin,
    now: config.now,
    ttlSeconds: () => config.sessionTtlSeconds
  }
  const state: EmulatorState = {
    org,
    settings: config.settings,
    faults: { batchFail: () => faultState.batchFail() },
    processing: new Processing(config.processing, config.seed),
    now: config.now,
    newId: (prefix) => org.newId(prefix)
  }

  const stats = (): Stats => ({
    requests,
    byApi: { ...counts },
    faults: { ...faultState.counts },
    sessions: { issued: sessions.issued, active: sessions.active() },
    faultSpec: faults.format(faultState.config),
    seed: faultState.seed,
    usage: { ...state.processing.usage },
    processing: state.processing.settings
  })

  const setFaults: EmulatorServer["setFaults"] = (cfg, options = {}) => {
    // Compile first: a bad expression must leave the current settings untouched.
    const match = options.match === undefined || options.match === "" ? undefined : new RegExp(options.match)
    faultState.reset(cfg, options.seed)
    if (options.slowMs !== undefined) slowMs = options.slowMs
    if (options.faultLogin !== undefined) faultLogin = options.faultLogin
    faultMatch = match
  }

  /** Answer a complete body without a RequestContext (errors, login, metadata). */
  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    contentType: string | undefined,
    body: string,
    headers?: Record<string, string>
  ) => {
    if (!req.readableEnded) req.resume()
    responder(req, res, () => "none", () => slowMs).send(status, contentType, body, headers)
  }

  const isJsonRequest = (req: IncomingMessage) => String(req.headers["content-type"] ?? "").toLowerCase().includes("json")

  const errorIn =
    (api: "bulk1" | "rest", req: IncomingMessage) =>
    (res: ServerResponse, status: number, code: string, message: string, headers?: Record<string, string>) => {
      if (api === "bulk1") {
        const json = isJsonRequest(req)
        answer(req, res, status, json ? "application/json" : XML_TYPE, bulk1Error(code, message, json), headers)
      } else {
        answer(req, res, status, JSON_TYPE, restError(code, message), headers)
      }
    }

  /**
   * Apply the fault decision for one request. Returns true when the request was answered (or its
   * connection destroyed) by the fault. Otherwise `flags.answer` says how the answer, written after
   * the request has been processed in full, is damaged: `cut` for a download reset or `lost-answer`,
   * `stall` for `stall`.
   */
  const applyFault = async (
    req: IncomingMessage,
    res: ServerResponse,
    api: "bulk1" | "rest" | "login",
    flags: AnswerFlags
  ): Promise<boolean> => {
    if (faultMatch !== undefined) {
      const path = new URL(req.url ?? "/", "http://emulator").pathname
      if (!faultMatch.test(`${(req.method ?? "GET").toUpperCase()} ${path}`)) return false
    }
    const d = faultState.decide()
    switch (d.kind) {
      case "none":
        return false
      case "slow":
        await delay(slowMs)
        return req.socket === null || req.socket.destroyed
      case "reset": {
        const hasBody = req.headers["content-length"] !== undefined
          ? Number(req.headers["content-length"]) > 0
          : req.headers["transfer-encoding"] !== undefined
        if (hasBody && !req.readableEnded) {
          await Promise.race([once(req, "data"), once(req, "end"), once(req, "close")]).catch(() => undefined)
          req.socket?.destroy()
          return true
        }
        flags.answer = "cut"
        return false
      }
      case "lost-answer":
        flags.answer = "cut"
        return false
      case "stall":
        flags.answer = "stall"
        return false
      case "5xx": {
        const message = d.status === 503
          ? "Server temporarily unavailable (injected fault)"
          : "An unexpected error occurred (injected fault)"
        if (api === "login") answer(req, res, d.status, JSON_TYPE, JSON.stringify({ error: "server_error", error_description: message }))
        else if (api === "bulk1") errorIn("bulk1", req)(res, d.status, "InternalServerError", message)
        else errorIn("rest", req)(res, d.status, d.status === 503 ? "SERVER_UNAVAILABLE" : "UNKNOWN_EXCEPTION", message)
        return true
      }
      case "limit": {
        const headers = d.status === 429 ? { "Retry-After": String(config.retryAfterSeconds) } : undefined
        if (api === "login") {
          answer(
            req,
            res,
            d.status === 429 ? 429 : 400,
            JSON_TYPE,
            JSON.stringify({ error: "rate_limit_exceeded", error_description: "rate limit exceeded" }),
            headers
          )
        } else if (api === "bulk1") {
          errorIn("bulk1", req)(res, d.status === 429 ? 429 : 400, "ExceededQuota", "ApiBatchItems Limit exceeded.", headers)
        } else {
          errorIn("rest", req)(res, d.status, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", headers)
        }
        return true
      }
    }
  }

  /** Authenticate a token; counts the use for `expire-after`. */
  const authenticate = (token: string | undefined): SessionInfo | undefined => {
    if (token === undefined || token === "") return undefined
    const s = sessions.lookup(token)
    if (typeof s === "string") return undefined
    const limit = faultState.config.expireAfter
    if (limit > 0 && s.uses >= limit) {
      sessions.end(token)
      faultState.countExpiry()
      return undefined
    }
    s.uses++
    return { userId: s.userId, orgId: s.orgId }
  }

  const runHandler = async (
    handler: Handler,
    api: "bulk1" | "rest",
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    segments: ReadonlyArray<string>,
    version: string,
    session: SessionInfo,
    answerFault: AnswerFault
  ) => {
    let body: Readable | undefined
    let whole: Promise<Buffer> | undefined
    const bodyStream = () => (body ??= decodedBody(req))
    const r = responder(req, res, () => answerFault, () => slowMs)
    const ctx: RequestContext = {
      req,
      res,
      method: req.method ?? "GET",
      segments,
      query: url.searchParams,
      version,
      session,
      readBody: () => (whole ??= readAll(bodyStream())),
      bodyStream,
      send: r.send,
      sendStream: r.sendStream
    }
    try {
      await handler(ctx, state)
    } catch (e) {
      if (res.headersSent) {
        res.destroy()
        return
      }
      const message = e instanceof Error ? e.message : String(e)
      errorIn(api, req)(res, 500, api === "bulk1" ? "InternalServerError" : "UNKNOWN_EXCEPTION", message)
    }
  }

  /**
   * Count an authenticated API request against DailyApiRequests and apply the request latency.
   * False when the allocation is enforced and spent: the request was answered with the documented
   * REQUEST_LIMIT_EXCEEDED (REST, 403) or ExceededQuota (1.0, 400, as the `limit` fault answers).
   */
  const spend = async (req: IncomingMessage, res: ServerResponse, api: "bulk1" | "rest"): Promise<boolean> => {
    const latency = state.processing.settings.requestLatencyMs
    if (latency > 0) await delay(latency)
    if (state.processing.takeRequest()) return true
    if (api === "bulk1") errorIn("bulk1", req)(res, 400, "ExceededQuota", "TotalRequests Limit exceeded.")
    else errorIn("rest", req)(res, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    return false
  }

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://emulator")
    let segments: Array<string>
    try {
      segments = url.pathname.split("/").filter((s) => s !== "").map(decodeURIComponent)
    } catch {
      segments = url.pathname.split("/").filter((s) => s !== "")
    }
    const method = (req.method ?? "GET").toUpperCase()
    const [s0, s1, s2, s3] = segments

    if (s0 === "__emulator") return control(req, res, method, s1)
    requests++

    if (s0 !== "services") {
      counts.other++
      return answer(req, res, 404, JSON_TYPE, NOT_FOUND_REST)
    }

    // Login endpoints: OAuth 2.0 and SOAP.
    if (s1 === "oauth2" && (s2 === "token" || s2 === "revoke") && segments.length === 3) {
      counts.login++
      const flags: AnswerFlags = { answer: "none" }
      if (faultLogin && (await applyFault(req, res, "login", flags))) return
      if (method !== "POST" && !(s2 === "revoke" && method === "GET")) {
        return answer(req, res, 400, JSON_TYPE, JSON.stringify({ error: "invalid_request", error_description: "must use HTTP POST" }))
      }
      const params = new URLSearchParams(url.search)
      if (method === "POST") {
        const text = (await readAll(decodedBody(req))).toString("utf8")
        for (const [k, v] of new URLSearchParams(text)) params.set(k, v)
      }
      const a = s2 === "token"
        ? auth.token(authContext, params, req.headers.authorization)
        : auth.revoke(authContext, params)
      return responder(req, res, () => flags.answer, () => slowMs).send(a.status, a.contentType, a.body, a.headers)
    }
    if (s1 === "Soap" && (s2 === "u" || s2 === "c") && s3 !== undefined) {
      counts.login++
      const flags: AnswerFlags = { answer: "none" }
      if (faultLogin && (await applyFault(req, res, "login", flags))) return
      const major = parseVersion(s3)
      if (major === undefined || major < MIN_VERSION || major > MAX_VERSION) {
        const a = auth.soapFault(s2, "UNSUPPORTED_API_VERSION", `Invalid Api version specified on URL: ${s3}`)
        return answer(req, res, a.status, a.contentType, a.body)
      }
      if (method !== "POST") {
        const a = auth.soapFault(s2, "INVALID_OPERATION", "SOAP calls must use HTTP POST")
        return answer(req, res, a.status, a.contentType, a.body)
      }
      const text = (await readAll(decodedBody(req))).toString("utf8")
      const a = auth.soapLogin(authContext, s2, s3, text)
      return responder(req, res, () => flags.answer, () => slowMs).send(a.status, a.contentType, a.body)
    }

    // Bulk API 1.0.
    if (s1 === "async") {
      counts.bulk1++
      const fail = errorIn("bulk1", req)
      if (s2 === undefined) return fail(res, 404, "InvalidUrl", `Unknown resource: ${url.pathname}`)
      const major = parseVersion(s2)
      if (major === undefined || major < MIN_VERSION || major > MAX_VERSION) {
        return fail(
          res,
          400,
          "InvalidVersion",
          `Invalid api version specified on URL: ${s2}. Supported versions are ${MIN_VERSION}.0 to ${MAX_VERSION}.0`
        )
      }
      const header = req.headers["x-sfdc-session"]
      const session = authenticate(Array.isArray(header) ? header[0] : header)
      if (session === undefined) return fail(res, 400, "InvalidSessionId", "Invalid session id")
      // Bulk API "HTTP Status Codes": 415 when compression is set to an unsupported value (gzip only;
      // deflate is an emulator extension). The exceptionCode is not documented.
      const enc = String(req.headers["content-encoding"] ?? "").trim().toLowerCase()
      if (enc !== "" && enc !== "identity" && enc !== "gzip" && enc !== "x-gzip" && enc !== "deflate") {
        return fail(res, 415, "ClientInputError", `Unsupported Content-Encoding '${enc}'. The only supported compression is gzip`)
      }
      const flags: AnswerFlags = { answer: "none" }
      if (await applyFault(req, res, "bulk1", flags)) return
      if (!(await spend(req, res, "bulk1"))) return
      return runHandler(handleBulk1, "bulk1", req, res, url, segments.slice(3), s2, session, flags.answer)
    }

    // REST: version list, resources, limits, sObject describe, Bulk API 2.0.
    if (s1 === "data") {
      const fail = errorIn("rest", req)
      if (s2 === undefined) {
        counts.rest++
        if (method !== "GET" && method !== "HEAD") {
          return fail(res, 405, "METHOD_NOT_ALLOWED", `HTTP Method '${method}' not allowed. Allowed are GET,HEAD`)
        }
        const listFlags: AnswerFlags = { answer: "none" }
        if (await applyFault(req, res, "rest", listFlags)) return
        const versions = []
        for (let v = MIN_VERSION; v <= MAX_VERSION; v++) {
          versions.push({ label: versionLabel(v), url: `/services/data/v${v}.0`, version: `${v}.0` })
        }
        req.resume()
        return responder(req, res, () => listFlags.answer, () => slowMs).send(200, JSON_TYPE, JSON.stringify(versions))
      }
      const vm = /^v(\d+\.\d+)$/.exec(s2)
      const major = vm ? parseVersion(vm[1]!) : undefined
      const isJobs = s3 === "jobs"
      counts[isJobs ? "bulk2" : "rest"]++
      if (major === undefined || major > MAX_VERSION) return fail(res, 404, "NOT_FOUND", "The requested resource does not exist")
      if (major < MIN_VERSION) {
        return fail(res, 410, "API_VERSION_RETIRED", `API version ${vm![1]} has been retired; use ${MIN_VERSION}.0 to ${MAX_VERSION}.0`)
      }
      const authz = req.headers.authorization
      let token: string | undefined
      if (authz !== undefined) {
        const m = /^(bearer|oauth)\s+(\S+)\s*$/i.exec(authz)
        if (!m) return fail(res, 401, "INVALID_AUTH_HEADER", "INVALID_HEADER_TYPE")
        token = m[2]
      }
      const session = authenticate(token)
      if (session === undefined) return answer(req, res, 401, JSON_TYPE, INVALID_SESSION_REST)
      const flags: AnswerFlags = { answer: "none" }
      if (await applyFault(req, res, "rest", flags)) return
      if (!(await spend(req, res, "rest"))) return
      res.setHeader("Sforce-Limit-Info", state.processing.limitInfo())
      const rest = segments.slice(3)
      const version = vm![1]!
      if (isJobs) return runHandler(handleBulk2, "rest", req, res, url, rest, version, session, flags.answer)
      const r = responder(req, res, () => flags.answer, () => slowMs)
      if (!req.readableEnded) req.resume()
      if (rest.length === 0 && method === "GET") {
        const base = `/services/data/v${version}`
        return r.send(200, JSON_TYPE, JSON.stringify({ jobs: `${base}/jobs`, limits: `${base}/limits`, sobjects: `${base}/sobjects` }))
      }
      if (rest.length === 1 && rest[0] === "limits" && method === "GET") return r.send(200, JSON_TYPE, state.processing.limitsBody())
      if (rest.length === 3 && rest[0] === "sobjects" && rest[2] === "describe") {
        if (method !== "GET" && method !== "HEAD") {
          return r.send(405, JSON_TYPE, restError("METHOD_NOT_ALLOWED", `HTTP Method '${method}' not allowed. Allowed are GET,HEAD`))
        }
        const def = org.describe(rest[1]!)
        return def === undefined ? r.send(404, JSON_TYPE, NOT_FOUND_REST) : r.send(200, JSON_TYPE, describeBody(org, def, version))
      }
      return r.send(404, JSON_TYPE, NOT_FOUND_REST)
    }

    counts.other++
    return answer(req, res, 404, JSON_TYPE, NOT_FOUND_REST)
  }

  /** `/__emulator/stats` and `/__emulator/faults`. */
  const control = async (req: IncomingMessage, res: ServerResponse, method: string, what: string | undefined) => {
    // the fault settings in force, as `GET` shows them and `POST` answers after changing them
    const current = () =>
      answer(
        req,
        res,
        200,
        JSON_TYPE,
        JSON.stringify({
          faults: faults.format(faultState.config),
          seed: faultState.seed,
          slowMs,
          faultLogin,
          match: faultMatch?.source ?? ""
        })
      )
    if (what === "stats" && method === "GET") return answer(req, res, 200, JSON_TYPE, JSON.stringify(stats()))
    if (what === "faults" && method === "GET") return current()
    if (what === "faults" && method === "POST") {
      const text = (await readAll(decodedBody(req))).toString("utf8").trim()
      try {
        let spec: faults.FaultsInput | undefined = text
        const options: { -readonly [K in keyof FaultOptions]: FaultOptions[K] } = {}
        if (text.startsWith("{")) {
          const doc = JSON.parse(text) as Record<string, unknown>
          spec = (doc.faults ?? "") as faults.FaultsInput
          if (typeof doc.seed === "number") options.seed = doc.seed
          if (typeof doc.slowMs === "number") options.slowMs = doc.slowMs
          if (typeof doc.faultLogin === "boolean") options.faultLogin = doc.faultLogin
          if (typeof doc.match === "string") options.match = doc.match
        }
        setFaults(faults.parse(spec), options)
      } catch (e) {
        return answer(req, res, 400, JSON_TYPE, JSON.stringify({ error: e instanceof Error ? e.message : String(e) }))
      }
      return current()
    }
    return answer(
      req,
      res,
      404,
      JSON_TYPE,
      JSON.stringify({ error: "Unknown emulator control endpoint; use GET /__emulator/stats or POST /__emulator/faults" })
    )
  }

  const server: Server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    route(req, res).catch((e) => {
      if (!res.headersSent && !res.destroyed) {
        answer(req, res, 500, JSON_TYPE, restError("UNKNOWN_EXCEPTION", e instanceof Error ? e.message : String(e)))
      } else {
        res.destroy()
      }
    })
  })
  // Uploads of a million rows take a while: no request timeout.
  server.requestTimeout = 0
  server.headersTimeout = 60_000
  server.on("clientError", (_e, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => reject(e)
    server.once("error", onError)
    server.listen(port, host, () => {
      server.removeListener("error", onError)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host
  origin = `http://${urlHost}:${address.port}`

  return {
    origin,
    port: address.port,
    state,
    sessions,
    stats,
    setFaults,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()))
        server.closeAllConnections()
      })
  }
}
