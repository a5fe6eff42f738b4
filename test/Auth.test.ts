/**
 * Every SalesforceAuth layer against the emulator's login endpoints over real HTTP (parity row
 * `SalesforceBulk(sessionId, host)` / `(username, password)`, sandbox, API version).
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Bulk1, SalesforceAuth } from "../packages/client/src/index.js"
import { Emulator } from "../packages/emulator/src/index.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5 })
})
afterAll(async () => {
  await emu?.close()
})

/** Log in with `auth`, then create and abort a job: proves the session works for Bulk 1.0. */
const useAuth = <E>(auth: Layer.Layer<SalesforceAuth.SalesforceAuth, E, never>) =>
  Effect.gen(function*() {
    const job = yield* Bulk1.createInsertJob("Account")
    yield* Bulk1.abortJob(job)
    return job
  }).pipe(Effect.provide(Bulk1.layer().pipe(Layer.provide(auth))))

const http = NodeHttpClient.layerUndici

describe("SalesforceAuth against the emulator", () => {
  it("existing session (sessionId + host) with an API version", () =>
    Effect.runPromise(Effect.gen(function*() {
      const job = yield* useAuth(
        SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: "50.0" })
      )
      expect(job.apiVersion).toBe("50.0")
    })))

  it("SOAP login with username, password and security token (the seed's default)", () =>
    Effect.runPromise(Effect.gen(function*() {
      const job = yield* useAuth(
        SalesforceAuth.soapLogin({
          loginUrl: emu.loginUrl,
          username: emu.username,
          password: Redacted.make(emu.password),
          securityToken: Redacted.make(emu.securityToken)
        }).pipe(Layer.provide(http))
      )
      expect(job.state).toBe("Open")
      const bad = yield* Effect.flip(useAuth(
        SalesforceAuth.soapLogin({
          loginUrl: emu.loginUrl,
          username: emu.username,
          password: Redacted.make("wrong-password")
        }).pipe(Layer.provide(http))
      ))
      expect(bad._tag).toBe("AuthenticationError")
      expect(bad.message).not.toContain("wrong-password")
    })))

  it("OAuth username-password, refresh token, client credentials, JWT bearer", () =>
    Effect.runPromise(Effect.gen(function*() {
      yield* useAuth(
        SalesforceAuth.oauthPassword({
          loginUrl: emu.loginUrl,
          clientId: emu.clientId,
          clientSecret: Redacted.make(emu.clientSecret),
          username: emu.username,
          password: Redacted.make(emu.password),
          securityToken: Redacted.make(emu.securityToken)
        }).pipe(Layer.provide(http))
      )
      yield* useAuth(
        SalesforceAuth.refreshToken({
          loginUrl: emu.loginUrl,
          clientId: emu.clientId,
          clientSecret: Redacted.make(emu.clientSecret),
          refreshToken: Redacted.make(emu.refreshToken)
        }).pipe(Layer.provide(http))
      )
      yield* useAuth(
        SalesforceAuth.clientCredentials({
          loginUrl: emu.loginUrl,
          clientId: emu.clientId,
          clientSecret: Redacted.make(emu.clientSecret)
        }).pipe(Layer.provide(http))
      )
      yield* useAuth(
        SalesforceAuth.jwtBearer({
          loginUrl: emu.loginUrl,
          clientId: emu.clientId,
          username: emu.username,
          privateKey: Redacted.make(emu.privateKeyPem!)
        }).pipe(Layer.provide(http))
      )
    })))

  it("layerConfig picks the flow from the environment", () =>
    Effect.runPromise(Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-auth-"))
      const keyFile = Path.join(dir, "server.key")
      Fs.writeFileSync(keyFile, emu.privateKeyPem!)
      const envs: Array<Record<string, string>> = [
        { SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken },
        { SF_LOGIN_URL: emu.loginUrl, SF_USERNAME: emu.username, SF_PASSWORD: emu.password, SF_SECURITY_TOKEN: emu.securityToken },
        { SF_LOGIN_URL: emu.loginUrl, SF_CLIENT_ID: emu.clientId, SF_REFRESH_TOKEN: emu.refreshToken, SF_CLIENT_SECRET: emu.clientSecret },
        {
          SF_LOGIN_URL: emu.loginUrl,
          SF_CLIENT_ID: emu.clientId,
          SF_USERNAME: emu.username,
          SF_PRIVATE_KEY_FILE: keyFile,
          SF_API_VERSION: "60.0"
        }
      ]
      const versions: Array<string> = []
      for (const env of envs) {
        const job = yield* useAuth(SalesforceAuth.layerConfig.pipe(Layer.provide(http))).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
        )
        versions.push(job.apiVersion)
      }
      expect(versions).toEqual(["66.0", "66.0", "66.0", "60.0"])
    })))

  it("login hosts: production, sandbox, My Domain", () => {
    expect(SalesforceAuth.loginUrl("production")).toBe("https://login.salesforce.com")
    expect(SalesforceAuth.loginUrl("sandbox")).toBe("https://test.salesforce.com")
    expect(SalesforceAuth.loginUrl("https://acme.my.salesforce.com/")).toBe("https://acme.my.salesforce.com")
  })

  it("a renewable session survives the token expiring (refresh token flow)", async () => {
    const short = await Emulator.start({ latencyMs: 5, faults: { "expire-after": 3 } })
    try {
      await Effect.runPromise(
        Effect.gen(function*() {
          for (let i = 0; i < 4; i++) {
            const job = yield* Bulk1.createInsertJob("Account")
            yield* Bulk1.jobInfo(job.id)
            yield* Bulk1.abortJob(job)
          }
        }).pipe(Effect.provide(
          Bulk1.layer().pipe(Layer.provide(
            SalesforceAuth.refreshToken({
              loginUrl: short.loginUrl,
              clientId: short.clientId,
              clientSecret: Redacted.make(short.clientSecret),
              refreshToken: Redacted.make(short.refreshToken)
            }).pipe(Layer.provide(http))
          ))
        ))
      )
      expect(short.stats().faults["expire-after"]).toBeGreaterThan(0)
    } finally {
      await short.close()
    }
  })
})
