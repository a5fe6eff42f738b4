/**
 * Security (issue 7): secrets never appear in logs, errors or span attributes (every auth flow,
 * debug logging and a recording tracer on, session renewals and failures included); credentials
 * go only to the instance's own origin over https (or loopback http), and never follow a redirect
 * to another host; SOQL built from user values cannot be injected; CLI result files neutralise
 * spreadsheet formulas by default.
 */
import { NodeHttpClient } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk1, BulkClient, SalesforceAuth, Soql, soql, Transport } from "../packages/client/src/index.js"
import { Emulator } from "../packages/emulator/src/index.js"
import * as Results from "../packages/cli/src/internal/results.js"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { collect } from "./FaultsSupport.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>

beforeAll(async () => {
  // sessions expire every few requests, so every flow renews while the operation runs
  emu = await Emulator.start({ latencyMs: 2, faults: "expire-after=4" })
})
afterAll(async () => {
  await emu?.close()
})

// ---------------------------------------------------------------------------------------------
// capture: logs, spans (names, attributes, events, exits), console output, errors
// ---------------------------------------------------------------------------------------------

const captured: Array<string> = []
const keep = (what: string, value: unknown) => {
  try {
    captured.push(
      `${what}: ${typeof value === "string" ? value : JSON.stringify(value, (_, v) => (typeof v === "bigint" ? String(v) : v))}`
    )
  } catch {
    captured.push(`${what}: ${String(value)}`)
  }
}

const recordingLogger = Logger.make(({ annotations, cause, logLevel, message, spans }) => {
  keep(`log ${logLevel.label}`, message)
  keep("log annotations", [...annotations])
  keep("log spans", [...spans].map((s) => s.label))
  if (!Cause.isEmpty(cause)) keep("log cause", Cause.pretty(cause, { renderErrorCause: true }))
})

class RecordingSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId = Math.random().toString(16).slice(2)
  readonly traceId = "trace"
  readonly sampled = true
  status: Tracer.SpanStatus
  readonly attributes = new Map<string, unknown>()
  readonly links: Array<Tracer.SpanLink>
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: import("effect/Context").Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.links = [...links]
    this.status = { _tag: "Started", startTime }
    keep("span", name)
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
    this.status = { _tag: "Ended", startTime: (this.status as { startTime: bigint }).startTime, endTime, exit }
    keep(`span ${this.name} attributes`, [...this.attributes])
    if (Exit.isFailure(exit)) keep(`span ${this.name} failure`, Cause.pretty(exit.cause, { renderErrorCause: true }))
  }
  attribute(key: string, value: unknown) {
    this.attributes.set(key, value)
    keep(`span ${this.name} attribute ${key}`, value)
  }
  event(name: string, _startTime: bigint, attributes?: Record<string, unknown>) {
    keep(`span ${this.name} event ${name}`, attributes ?? {})
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>) {
    this.links.push(...links)
  }
}

const recordingTracer = Tracer.make({
  span: (name, parent, context, links, startTime, kind) => new RecordingSpan(name, parent, context, links, startTime, kind),
  context: (f) => f()
})

/** Access tokens actually sent (read off the wire), so the scan knows what to look for. */
const sentTokens = new Set<string>()
const wiretap = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, (client) =>
    HttpClient.mapRequest(client, (req) => {
      const auth = req.headers["authorization"] ?? req.headers["x-sfdc-session"]
      if (auth !== undefined) sentTokens.add(auth.replace(/^Bearer /, ""))
      return req
    }))
).pipe(Layer.provide(NodeHttpClient.layerUndici))

const observe = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.withTracer(recordingTracer),
    Logger.withMinimumLogLevel(LogLevel.All),
    Effect.provide(Logger.replace(Logger.defaultLogger, recordingLogger))
  )

/** A fresh access token from the emulator's OAuth password flow (the one issued at start expires here). */
const freshToken = async (): Promise<string> => {
  const body = new URLSearchParams({
    grant_type: "password",
    client_id: emu.clientId,
    client_secret: emu.clientSecret,
    username: emu.username,
    password: emu.password + emu.securityToken
  })
  const res = await fetch(`${emu.loginUrl}/services/oauth2/token`, { method: "POST", body })
  const json = (await res.json()) as { access_token: string }
  sentTokens.add(json.access_token)
  return json.access_token
}

/** Every auth flow of SalesforceAuth, pointed at the emulator. */
const flows = (sessionToken = emu.accessToken) => {
  const common = { loginUrl: emu.loginUrl }
  return {
    oauthPassword: SalesforceAuth.oauthPassword({
      ...common,
      clientId: emu.clientId,
      clientSecret: Redacted.make(emu.clientSecret),
      username: emu.username,
      password: Redacted.make(emu.password),
      securityToken: Redacted.make(emu.securityToken)
    }),
    soapLogin: SalesforceAuth.soapLogin({
      ...common,
      username: emu.username,
      password: Redacted.make(emu.password),
      securityToken: Redacted.make(emu.securityToken)
    }),
    refreshToken: SalesforceAuth.refreshToken({
      ...common,
      clientId: emu.clientId,
      clientSecret: Redacted.make(emu.clientSecret),
      refreshToken: Redacted.make(emu.refreshToken)
    }),
    jwtBearer: SalesforceAuth.jwtBearer({
      ...common,
      clientId: emu.clientId,
      username: emu.username,
      privateKey: Redacted.make(emu.privateKeyPem!),
      audience: emu.loginUrl
    }),
    clientCredentials: SalesforceAuth.clientCredentials({
      ...common,
      clientId: emu.clientId,
      clientSecret: Redacted.make(emu.clientSecret)
    }),
    // a bare session cannot renew: it runs with expiry off (see below)
    fromSession: SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: Redacted.make(sessionToken) })
  }
}

const secrets = () => {
  const pem = emu.privateKeyPem!
  // the key's base64 body lines (the PEM armour lines are not secret)
  const keyLines = pem.split("\n").filter((l) => l.length > 40 && !l.startsWith("-----"))
  return {
    password: emu.password,
    securityToken: emu.securityToken,
    clientSecret: emu.clientSecret,
    refreshToken: emu.refreshToken,
    accessToken: emu.accessToken,
    ...Object.fromEntries([...sentTokens].map((t, i) => [`sent access token ${i}`, t])),
    ...Object.fromEntries(keyLines.slice(0, 3).map((l, i) => [`private key line ${i}`, l]))
  }
}

const fast = { pollSchedule: Schedule.spaced("15 millis") }

describe("secrets stay redacted: every auth flow, debug logs and tracing on", () => {
  it("insert, query and failures on both APIs under every flow leak no secret", async () => {
    const consoleOut: Array<string> = []
    const write = process.stdout.write.bind(process.stdout)
    const writeErr = process.stderr.write.bind(process.stderr)
    process.stdout.write = ((chunk: unknown, ...rest: Array<unknown>) => {
      consoleOut.push(String(chunk))
      return (write as any)(chunk, ...rest)
    }) as typeof process.stdout.write
    process.stderr.write = ((chunk: unknown, ...rest: Array<unknown>) => {
      consoleOut.push(String(chunk))
      return (writeErr as any)(chunk, ...rest)
    }) as typeof process.stderr.write
    try {
      emu.setFaults(undefined)
      const bare = await freshToken()
      emu.setFaults("expire-after=4")
      for (const [name, auth] of Object.entries(flows(bare))) {
        if (name === "fromSession") emu.setFaults(undefined)
        const layer = BulkClient.layer().pipe(Layer.provide(auth), Layer.provide(wiretap))
        for (const api of ["2.0", "1.0"] as const) {
          const exit = await Effect.runPromiseExit(observe(
            Effect.gen(function*() {
              yield* Effect.logDebug(`flow ${name} api ${api}`)
              const o = yield* BulkClient.insert("Account", [{ Name: `sec-${name}-${api}` }, { Name: null }], { ...fast, api })
              keep("summary", o.summary)
              keep("failures", yield* collect(o.failures))
              keep(
                "query",
                yield* collect(BulkClient.query(`SELECT Id, Name FROM Account WHERE Name = 'sec-${name}-${api}'`, { ...fast, api }))
              )
              // a request that fails: the error and its cause are captured too
              const e = yield* Effect.flip(BulkClient.insert("NoSuchObject__c", [{ Name: "x" }], { ...fast, api }))
              keep("error", { tag: e._tag, message: e.message, json: e, string: String(e) })
              return o.summary.succeeded
            }).pipe(Effect.provide(layer))
          ))
          keep(`exit ${name} ${api}`, Exit.isSuccess(exit) ? exit.value : Cause.pretty(exit.cause, { renderErrorCause: true }))
          expect(Exit.isSuccess(exit) ? exit.value : Cause.pretty(exit.cause)).toBe(1)
        }
      }
      emu.setFaults("expire-after=4")
      // failing logins: the errors name the problem, never the credentials tried
      const wrong = SalesforceAuth.oauthPassword({
        loginUrl: emu.loginUrl,
        clientId: emu.clientId,
        clientSecret: Redacted.make(emu.clientSecret),
        username: emu.username,
        password: Redacted.make(`${emu.password}-wrong`),
        securityToken: Redacted.make(emu.securityToken)
      })
      const failed = await Effect.runPromiseExit(observe(
        BulkClient.insert("Account", [{ Name: "x" }]).pipe(
          Effect.provide(BulkClient.layer().pipe(Layer.provide(wrong), Layer.provide(wiretap)))
        )
      ))
      expect(Exit.isFailure(failed)).toBe(true)
      if (Exit.isFailure(failed)) {
        const e = Cause.failureOption(failed.cause)
        keep("login error", Option.map(e, (x) => ({ message: (x as Error).message, json: x, string: String(x) })))
        expect(Option.map(e, (x) => (x as { _tag: string })._tag)).toEqual(Option.some("AuthenticationError"))
      }
      // the Redacted values print as <redacted>
      keep("redacted", { r: Redacted.make(emu.password), s: String(Redacted.make(emu.password)) })
    } finally {
      process.stdout.write = write
      process.stderr.write = writeErr
    }
    // renewals happened (so the renewal path was scanned too), and spans were recorded
    expect(emu.stats().faults["expire-after"]).toBeGreaterThan(0)
    expect(sentTokens.size).toBeGreaterThan(6)
    expect(captured.some((c) => c.startsWith("span sfbulk.request"))).toBe(true)
    const haystack = [...captured, ...consoleOut].join("\n")
    // the capture works: it holds the job ids, error messages and span attributes of the runs
    expect(captured.length).toBeGreaterThan(200)
    expect(haystack).toContain("sfbulk.job_id")
    expect(haystack).toContain("NoSuchObject__c")
    for (const [what, secret] of Object.entries(secrets())) {
      expect(secret.length, what).toBeGreaterThan(5)
      expect(haystack.includes(secret), `${what} leaked`).toBe(false)
    }
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------
// origin and https rules
// ---------------------------------------------------------------------------------------------

describe("credentials go only to the instance's own origin, over https", () => {
  const requestsTo = (server: Http.Server) => {
    const seen: Array<{ url: string; auth: string | undefined }> = []
    server.on("request", (req: Http.IncomingMessage) => {
      seen.push({ url: req.url ?? "", auth: (req.headers["authorization"] as string) ?? (req.headers["x-sfdc-session"] as string) })
    })
    return seen
  }
  const listen = (handler: Http.RequestListener) =>
    new Promise<{ server: Http.Server; origin: string }>((resolve) => {
      const server = Http.createServer(handler)
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as { port: number }).port
        resolve({ server, origin: `http://127.0.0.1:${port}` })
      })
    })

  it("plain http is refused for anything but loopback, before any request", () =>
    Effect.runPromise(Effect.gen(function*() {
      const calls: Array<string> = []
      const fake = HttpClient.make((req) => {
        calls.push(req.url)
        return Effect.die("no request should be sent")
      })
      for (const instanceUrl of ["http://example.my.salesforce.com", "http://10.0.0.5", "ftp://example.com"]) {
        const err = yield* Effect.flip(
          Bulk1.createInsertJob("Account").pipe(
            Effect.provide(
              Transport.layer().pipe(
                Layer.provide(SalesforceAuth.fromSession({ instanceUrl, accessToken: "00Dxx!secret" })),
                Layer.provide(Layer.succeed(HttpClient.HttpClient, fake))
              )
            )
          )
        )
        expect(err._tag).toMatch(/InvalidInputError|AuthenticationError/)
        expect(err.message).toMatch(/https/)
        expect(err.message).not.toContain("00Dxx!secret")
      }
      const login = yield* Effect.flip(
        BulkClient.insert("Account", [{ Name: "x" }]).pipe(
          Effect.provide(
            BulkClient.layer().pipe(
              Layer.provide(SalesforceAuth.oauthPassword({
                loginUrl: "http://login.example.com",
                clientId: "id",
                clientSecret: Redacted.make("cs-secret"),
                username: "u",
                password: Redacted.make("pw-secret")
              })),
              Layer.provide(Layer.succeed(HttpClient.HttpClient, fake))
            )
          )
        )
      )
      expect(login.message).toMatch(/https/)
      expect(calls).toEqual([])
    })))

  it("a redirect to another host is not followed: the other host never sees the session", async () => {
    const other = await listen((_req, res) => res.end("{}"))
    const otherSeen = requestsTo(other.server)
    const instance = await listen((_req, res) => {
      res.statusCode = 307
      res.setHeader("location", `${other.origin}/services/async/66.0/job`)
      res.end()
    })
    try {
      const exit = await Effect.runPromiseExit(
        Bulk1.createInsertJob("Account").pipe(
          Effect.provide(
            Bulk1.layer({ retrySchedule: Schedule.recurs(0) }).pipe(
              Layer.provide(SalesforceAuth.fromSession({ instanceUrl: instance.origin, accessToken: "00Dxx!redirect-secret" }))
            )
          )
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(Cause.pretty(exit.cause)).not.toContain("redirect-secret")
      expect(otherSeen).toEqual([])
    } finally {
      instance.server.close()
      other.server.close()
    }
  })

  it("every request of a real run goes to the instance origin only", () =>
    Effect.runPromise(Effect.gen(function*() {
      const origins = new Set<string>()
      const tap = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(HttpClient.HttpClient, (client) =>
          HttpClient.mapRequest(client, (req) => {
            if (req.headers["authorization"] !== undefined || req.headers["x-sfdc-session"] !== undefined) {
              origins.add(new URL(req.url).origin)
            }
            return req
          }))
      ).pipe(Layer.provide(NodeHttpClient.layerUndici))
      const layer = BulkClient.layer().pipe(Layer.provide(flows().refreshToken), Layer.provide(tap))
      yield* Effect.gen(function*() {
        yield* BulkClient.insert("Account", [{ Name: "origin-check" }], fast)
        yield* collect(BulkClient.query("SELECT Id FROM Account WHERE Name = 'origin-check'", { ...fast, concurrency: 2 }))
        yield* collect(BulkClient.query("SELECT Id FROM Account WHERE Name = 'origin-check'", { ...fast, api: "1.0" }))
      }).pipe(Effect.provide(layer))
      expect([...origins]).toEqual([emu.instanceUrl])
    })))
})

// ---------------------------------------------------------------------------------------------
// SOQL injection
// ---------------------------------------------------------------------------------------------

describe("SOQL built from user values cannot be injected", () => {
  const layer = (accessToken: string) =>
    BulkClient.layer().pipe(
      Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken })),
      Layer.provide(NodeHttpClient.layerUndici),
      Layer.orDie
    )
  const attempts = [
    "x' OR Name != '",
    "x\\' OR Name != \\'",
    "x\\\\' OR Name LIKE '%",
    "' OR Id != null OR Name = '",
    "%",
    "_",
    "\\",
    "x\nOR Name != 'y",
    "'; DELETE FROM Account; --"
  ]

  it("injection attempts match only the literal value, on both APIs", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        const planted = ["soql-plain", ...attempts.map((a) => `soql-${a}`)]
        // a bare session cannot renew: expiry off for this test
        emu.setFaults(undefined)
        const token = yield* Effect.promise(freshToken)
        for (const api of ["2.0", "1.0"] as const) {
          yield* Effect.gen(function*() {
            if (api === "2.0") yield* BulkClient.insert("Account", planted.map((Name) => ({ Name })), fast)
            for (const a of attempts) {
              const eq = yield* collect(BulkClient.query(soql`SELECT Name FROM Account WHERE Name = ${`soql-${a}`}`, { ...fast, api }))
              expect(eq.map((r) => r.Name)).toEqual([`soql-${a}`])
              const like = yield* collect(
                BulkClient.query(soql`SELECT Name FROM Account WHERE Name LIKE ${Soql.startsWith(`soql-${a}`)}`, { ...fast, api })
              )
              expect(like.map((r) => r.Name)).toEqual([`soql-${a}`])
            }
            // wildcards in user text are literal in LIKE: "%" matches only the value "%"
            const pct = yield* collect(
              BulkClient.query(soql`SELECT Name FROM Account WHERE Name LIKE ${Soql.contains("soql-%")}`, { ...fast, api })
            )
            expect(pct.map((r) => r.Name)).toEqual(["soql-%"])
          }).pipe(Effect.provide(layer(token)))
        }
      }).pipe(Effect.ensuring(Effect.sync(() => emu.setFaults("expire-after=4"))))
    ), 30_000)

  it("the escaping helpers neutralise quotes, backslashes and wildcards", () => {
    expect(Soql.literal("a'b\\c")).toBe("'a\\'b\\\\c'")
    expect(Soql.like("50%_off", "exact")).not.toMatch(/(?<!\\)[%_]/)
    expect(soql`SELECT Id FROM Account WHERE Name = ${"x' OR Name != '"}`).toBe("SELECT Id FROM Account WHERE Name = 'x\\' OR Name != \\''")
    expect(() => Soql.identifier("Name; DELETE")).toThrow()
  })
})

// ---------------------------------------------------------------------------------------------
// formula guard (CLI result files)
// ---------------------------------------------------------------------------------------------

describe("CLI result files neutralise spreadsheet formulas by default", () => {
  it("=, +, -, @ at the start of a cell get a leading quote; numbers and the opt-out stay as is", async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-formula-"))
    try {
      const rows = {
        columns: ["Name"],
        successes: Stream.make({ sf__Id: "001000000000001AAA", sf__Created: "true", Name: "=HYPERLINK(\"http://x\")" }, {
          sf__Id: "001000000000002AAA",
          sf__Created: "true",
          Name: "-12.5"
        }),
        failures: Stream.make({ record: { sf__Id: "", sf__Error: "@SUM(A1)", Name: "+cmd|' /C calc'!A0" }, code: "X" }),
        unprocessed: Stream.empty
      } as unknown as Results.ResultRows<never>
      const guarded = await Effect.runPromise(Results.write(rows, { dir, jobId: "750000000000001AAA", formulaGuard: true }))
      const text = (f: string) => Fs.readFileSync(f, "utf8")
      const files = Results.filesFor(dir, "750000000000001AAA")
      expect(text(files.success)).toContain("'=HYPERLINK")
      expect(text(files.success)).toContain("-12.5")
      expect(text(files.success)).not.toContain("'-12.5")
      expect(text(files.failed)).toContain("'@SUM(A1)")
      expect(text(files.failed)).toContain("'+cmd")
      void guarded
      await Effect.runPromise(Results.write(rows, { dir, jobId: "750000000000002AAA", formulaGuard: false }))
      expect(text(Results.filesFor(dir, "750000000000002AAA").success)).toContain(",\"=HYPERLINK")
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
