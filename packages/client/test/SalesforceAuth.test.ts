import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as SalesforceAuth from "../src/SalesforceAuth.js"

interface Seen {
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
}

const fake = (answer: (seen: Seen) => Response) => {
  const seen: Array<Seen> = []
  const client = HttpClient.make((request: HttpClientRequest.HttpClientRequest, url) =>
    Effect.sync(() => {
      const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
      const s = { url: url.toString(), headers: { ...request.headers }, body }
      seen.push(s)
      return HttpClientResponse.fromWeb(request, answer(s))
    })
  )
  return { seen, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

const tokenAnswer = (token = "00Dxx!tok") =>
  new Response(JSON.stringify({ access_token: token, instance_url: "https://acme.my.salesforce.com", token_type: "Bearer" }), {
    status: 200,
    headers: { "content-type": "application/json" }
  })

const session = <E>(layer: Layer.Layer<SalesforceAuth.SalesforceAuth, E>) =>
  Effect.flatMap(SalesforceAuth.SalesforceAuth, (a) => a.session).pipe(Effect.provide(layer))

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  throw new Error(`expected a failure, got ${String(exit)}`)
}

describe("SalesforceAuth", () => {
  it.effect("fromSession hands out the session as given, redacted", () =>
    Effect.gen(function*() {
      const s = yield* session(SalesforceAuth.fromSession({ instanceUrl: "https://acme.my.salesforce.com/", accessToken: "tok" }))
      expect(s.instanceUrl).toBe("https://acme.my.salesforce.com")
      expect(Redacted.value(s.accessToken)).toBe("tok")
      expect(String(s.accessToken)).not.toContain("tok")
      expect(s.apiVersion).toBe("66.0")
    }))

  it.effect("fromSession refuses plain http to a remote host and unsupported versions", () =>
    Effect.gen(function*() {
      const e1 = failure(
        yield* Effect.exit(session(SalesforceAuth.fromSession({ instanceUrl: "http://acme.example.com", accessToken: "t" })))
      )
      expect(e1.message).toMatch(/https/)
      const e2 = failure(
        yield* Effect.exit(
          session(SalesforceAuth.fromSession({ instanceUrl: "https://a.example.com", accessToken: "t", apiVersion: "20.0" }))
        )
      )
      expect(e2.message).toMatch(/31\.0 to 66\.0/)
    }))

  it.effect("OAuth password: posts the grant with password+token to the login host", () =>
    Effect.gen(function*() {
      const http = fake(() => tokenAnswer())
      const s = yield* session(
        SalesforceAuth.oauthPassword({
          loginUrl: "sandbox",
          clientId: "cid",
          clientSecret: Redacted.make("csecret"),
          username: "u@example.com",
          password: Redacted.make("pw"),
          securityToken: Redacted.make("TOK")
        }).pipe(Layer.provide(http.layer))
      )
      expect(http.seen[0]!.url).toBe("https://test.salesforce.com/services/oauth2/token")
      const form = new URLSearchParams(http.seen[0]!.body)
      expect(form.get("grant_type")).toBe("password")
      expect(form.get("password")).toBe("pwTOK")
      expect(form.get("client_secret")).toBe("csecret")
      expect(s.instanceUrl).toBe("https://acme.my.salesforce.com")
    }))

  it.effect("an OAuth error becomes AuthenticationError without secrets", () =>
    Effect.gen(function*() {
      const http = fake(() => new Response(`{"error":"invalid_grant","error_description":"authentication failure"}`, { status: 400 }))
      const e = failure(
        yield* Effect.exit(session(
          SalesforceAuth.oauthPassword({
            clientId: "cid",
            clientSecret: Redacted.make("csecret"),
            username: "u",
            password: Redacted.make("hunter2")
          }).pipe(Layer.provide(http.layer))
        ))
      )
      expect(e._tag).toBe("AuthenticationError")
      expect(e.message).toContain("invalid_grant")
      expect(e.message).toContain("authentication failure")
      expect(e.message).not.toContain("hunter2")
      expect(JSON.stringify(e)).not.toContain("csecret")
    }))

  it.effect("SOAP login parses serverUrl and sessionId; a fault is an AuthenticationError", () =>
    Effect.gen(function*() {
      const ok = fake(() =>
        new Response(
          `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result><serverUrl>https://acme.my.salesforce.com/services/Soap/u/64.0/00D</serverUrl><sessionId>00D!abc&amp;def</sessionId></result></loginResponse></soapenv:Body></soapenv:Envelope>`,
          { status: 200 }
        )
      )
      const s = yield* session(
        SalesforceAuth.soapLogin({ username: "a&b@x.com", password: Redacted.make("p<w"), securityToken: Redacted.make("T") })
          .pipe(Layer.provide(ok.layer))
      )
      expect(s.instanceUrl).toBe("https://acme.my.salesforce.com")
      expect(Redacted.value(s.accessToken)).toBe("00D!abc&def")
      expect(ok.seen[0]!.url).toBe("https://login.salesforce.com/services/Soap/u/64.0")
      expect(ok.seen[0]!.body).toContain("<urn:username>a&amp;b@x.com</urn:username>")
      expect(ok.seen[0]!.body).toContain("<urn:password>p&lt;wT</urn:password>")
      const bad = fake(() =>
        new Response(
          `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring><detail><sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid username, password, security token; or user locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
          { status: 500 }
        )
      )
      const e = failure(
        yield* Effect.exit(session(
          SalesforceAuth.soapLogin({ username: "u", password: Redacted.make("secretpw") }).pipe(Layer.provide(bad.layer))
        ))
      )
      expect(e._tag).toBe("AuthenticationError")
      if (e._tag === "AuthenticationError") expect(e.errorCode).toBe("INVALID_LOGIN")
      expect(e.message).not.toContain("secretpw")
      expect(bad.seen).toHaveLength(1) // a wrong password is not retried
    }))

  it.effect("JWT bearer signs an RS256 assertion the public key verifies", () =>
    Effect.gen(function*() {
      const { privateKey, publicKey } = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
      const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString()
      const http = fake(() => tokenAnswer())
      yield* session(
        SalesforceAuth.jwtBearer({ clientId: "cid", username: "u@x.com", privateKey: Redacted.make(pem) })
          .pipe(Layer.provide(http.layer))
      )
      const form = new URLSearchParams(http.seen[0]!.body)
      expect(form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer")
      const [h, c, sig] = form.get("assertion")!.split(".")
      expect(JSON.parse(Buffer.from(h!, "base64url").toString())).toEqual({ alg: "RS256" })
      const claims = JSON.parse(Buffer.from(c!, "base64url").toString())
      expect(claims).toMatchObject({ iss: "cid", sub: "u@x.com", aud: "https://login.salesforce.com" })
      expect(Crypto.verify("RSA-SHA256", Buffer.from(`${h}.${c}`), publicKey, Buffer.from(sig!, "base64url"))).toBe(true)
    }))

  it.effect("a bad private key is a clear AuthenticationError", () =>
    Effect.gen(function*() {
      const http = fake(() => tokenAnswer())
      const e = failure(
        yield* Effect.exit(session(
          SalesforceAuth.jwtBearer({ clientId: "cid", username: "u", privateKey: Redacted.make("not a key") })
            .pipe(Layer.provide(http.layer))
        ))
      )
      expect(e.message).toMatch(/PEM/)
      expect(http.seen).toHaveLength(0)
    }))

  it.effect("client credentials refuses login.salesforce.com (needs My Domain)", () =>
    Effect.gen(function*() {
      const http = fake(() => tokenAnswer())
      const e = failure(
        yield* Effect.exit(session(
          SalesforceAuth.clientCredentials({ clientId: "c", clientSecret: Redacted.make("s") }).pipe(Layer.provide(http.layer))
        ))
      )
      expect(e.message).toMatch(/My Domain/)
      const ok = fake(() => tokenAnswer())
      yield* session(
        SalesforceAuth.clientCredentials({ loginUrl: "https://acme.my.salesforce.com", clientId: "c", clientSecret: Redacted.make("s") })
          .pipe(Layer.provide(ok.layer))
      )
      expect(new URLSearchParams(ok.seen[0]!.body).get("grant_type")).toBe("client_credentials")
    }))

  it.effect("renew: concurrent callers with the same stale session share one login", () =>
    Effect.gen(function*() {
      let n = 0
      const http = fake(() => tokenAnswer(`tok-${++n}`))
      const layer = SalesforceAuth.refreshToken({ clientId: "c", refreshToken: Redacted.make("r") }).pipe(Layer.provide(http.layer))
      const renewed = yield* Effect.gen(function*() {
        const auth = yield* SalesforceAuth.SalesforceAuth
        const stale = yield* auth.session
        const all = yield* Effect.all(Array.from({ length: 10 }, () => auth.renew(stale)), { concurrency: "unbounded" })
        return all.map((s) => Redacted.value(s.accessToken))
      }).pipe(Effect.provide(layer))
      expect(new Set(renewed)).toEqual(new Set(["tok-2"]))
      expect(http.seen).toHaveLength(2)
    }))

  describe("layerConfig", () => {
    const withEnv = (env: Record<string, string>, http: Layer.Layer<HttpClient.HttpClient>) =>
      Effect.exit(
        session(SalesforceAuth.layerConfig.pipe(Layer.provide(http))).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
        )
      )

    it.effect("chooses the session flow from SF_INSTANCE_URL + SF_ACCESS_TOKEN", () =>
      Effect.gen(function*() {
        const http = fake(() => tokenAnswer())
        const exit = yield* withEnv(
          { SF_INSTANCE_URL: "https://a.my.salesforce.com", SF_ACCESS_TOKEN: "t", SF_API_VERSION: "60.0" },
          http.layer
        )
        expect(Exit.isSuccess(exit)).toBe(true)
        if (Exit.isSuccess(exit)) expect(exit.value.apiVersion).toBe("60.0")
        expect(http.seen).toHaveLength(0)
      }))

    it.effect("chooses SOAP login without a client id, OAuth password with one", () =>
      Effect.gen(function*() {
        const soap = fake(() =>
          new Response(`<r><serverUrl>https://a.my.salesforce.com/services/Soap/u/64.0</serverUrl><sessionId>s</sessionId></r>`)
        )
        yield* withEnv({ SF_LOGIN_URL: "https://a.my.salesforce.com", SF_USERNAME: "u", SF_PASSWORD: "p" }, soap.layer)
        expect(soap.seen[0]!.url).toContain("/services/Soap/u/")
        const oauth = fake(() => tokenAnswer())
        yield* withEnv({ SF_USERNAME: "u", SF_PASSWORD: "p", SF_CLIENT_ID: "c", SF_CLIENT_SECRET: "s" }, oauth.layer)
        expect(oauth.seen[0]!.url).toBe("https://login.salesforce.com/services/oauth2/token")
      }))

    it.effect("reads the JWT key from SF_PRIVATE_KEY_FILE", () =>
      Effect.gen(function*() {
        const { privateKey } = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
        const file = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-")), "key.pem")
        Fs.writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }))
        const http = fake(() => tokenAnswer())
        const exit = yield* withEnv({ SF_PRIVATE_KEY_FILE: file, SF_CLIENT_ID: "c", SF_USERNAME: "u" }, http.layer)
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(new URLSearchParams(http.seen[0]!.body).get("grant_type")).toMatch(/jwt-bearer/)
      }))

    it.effect("a missing piece names the variable", () =>
      Effect.gen(function*() {
        const http = fake(() => tokenAnswer())
        const e1 = failure(yield* withEnv({ SF_INSTANCE_URL: "https://a.my.salesforce.com" }, http.layer))
        expect(e1.message).toContain("SF_ACCESS_TOKEN")
        const e2 = failure(yield* withEnv({ SF_USERNAME: "u", SF_CLIENT_ID: "c" }, http.layer))
        expect(e2.message).toContain("SF_PASSWORD")
        expect(e2.message).toContain("SF_CLIENT_SECRET")
        const e3 = failure(yield* withEnv({ SF_PRIVATE_KEY_FILE: "/nope.pem" }, http.layer))
        expect(e3.message).toContain("SF_CLIENT_ID")
        const e4 = failure(yield* withEnv({}, http.layer))
        expect(e4.message).toContain("SF_INSTANCE_URL")
      }))
  })
})
