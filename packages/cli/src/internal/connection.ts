/**
 * Where and how to log in: flags override the `SF_*` environment, and the flow (session, JWT,
 * refresh token, OAuth password, SOAP login, client credentials) is chosen exactly as
 * `SalesforceAuth.layerConfig` chooses it. `--emulator` starts an embedded emulator instead.
 */
import * as Options from "@effect/cli/Options"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { BulkError, SalesforceAuth } from "@sfbulk/client"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { UsageError } from "./errors.js"
import type * as Scope from "effect/Scope"
import type { Emulator } from "@sfbulk/emulator"

/** The connection flags every command that talks to Salesforce accepts. */
export const options = Options.all({
  instanceUrl: Options.text("instance-url").pipe(
    Options.withDescription("Instance URL of an existing session (with --access-token). Env: SF_INSTANCE_URL"),
    Options.optional
  ),
  accessToken: Options.redacted("access-token").pipe(
    Options.withDescription("Session id / OAuth access token. Env: SF_ACCESS_TOKEN"),
    Options.optional
  ),
  loginUrl: Options.text("login-url").pipe(
    Options.withDescription("Login host: production, sandbox, or a My Domain URL. Env: SF_LOGIN_URL"),
    Options.optional
  ),
  username: Options.text("username").pipe(Options.withDescription("Env: SF_USERNAME"), Options.optional),
  password: Options.redacted("password").pipe(
    Options.withDescription("Prefer the SF_PASSWORD environment variable (flags show in `ps`)"),
    Options.optional
  ),
  securityToken: Options.redacted("security-token").pipe(Options.withDescription("Env: SF_SECURITY_TOKEN"), Options.optional),
  clientId: Options.text("client-id").pipe(Options.withDescription("Connected app consumer key. Env: SF_CLIENT_ID"), Options.optional),
  clientSecret: Options.redacted("client-secret").pipe(Options.withDescription("Env: SF_CLIENT_SECRET"), Options.optional),
  refreshToken: Options.redacted("refresh-token").pipe(Options.withDescription("Env: SF_REFRESH_TOKEN"), Options.optional),
  privateKeyFile: Options.text("private-key-file").pipe(
    Options.withDescription("PEM key for the JWT bearer flow. Env: SF_PRIVATE_KEY_FILE"),
    Options.optional
  ),
  apiVersion: Options.text("api-version").pipe(Options.withDescription("e.g. 66.0. Env: SF_API_VERSION"), Options.optional),
  emulator: Options.boolean("emulator").pipe(
    Options.withDescription("Run against an embedded emulator started for this command (nothing leaves the machine)")
  )
})

/** The parsed connection flags. */
export type Connection = typeof options extends Options.Options<infer A> ? A : never

const ENV: ReadonlyArray<readonly [keyof Connection, string]> = [
  ["instanceUrl", "SF_INSTANCE_URL"],
  ["accessToken", "SF_ACCESS_TOKEN"],
  ["loginUrl", "SF_LOGIN_URL"],
  ["username", "SF_USERNAME"],
  ["password", "SF_PASSWORD"],
  ["securityToken", "SF_SECURITY_TOKEN"],
  ["clientId", "SF_CLIENT_ID"],
  ["clientSecret", "SF_CLIENT_SECRET"],
  ["refreshToken", "SF_REFRESH_TOKEN"],
  ["privateKeyFile", "SF_PRIVATE_KEY_FILE"],
  ["apiVersion", "SF_API_VERSION"]
]

/** Flags over environment, as the `SF_*` map `SalesforceAuth.layerConfig` reads. */
const settings = (c: Connection): Map<string, string> => {
  const out = new Map<string, string>()
  for (const [key, env] of ENV) {
    const fromEnv = process.env[env]
    if (fromEnv !== undefined && fromEnv !== "") out.set(env, fromEnv)
    const flag = c[key] as Option.Option<string | Redacted.Redacted<string>>
    if (Option.isSome(flag)) {
      const v = flag.value
      out.set(env, typeof v === "string" ? v : Redacted.value(v))
    }
  }
  return out
}

const noCredentials = new BulkError.AuthenticationError({
  flow: "none",
  description: "no credentials were given: set SF_INSTANCE_URL + SF_ACCESS_TOKEN, or SF_USERNAME + SF_PASSWORD " +
    "(+ SF_CLIENT_ID/SF_CLIENT_SECRET), or the matching flags (--instance-url, --access-token, --username...), " +
    "or add --emulator to try against a local emulator"
})

/**
 * The `SalesforceAuth` for these flags (an embedded emulator with `--emulator`, its lifetime the
 * layer's), plus the HTTP client.
 */
export const authLayer = (
  c: Connection
): Layer.Layer<SalesforceAuth.SalesforceAuth | import("@effect/platform/HttpClient").HttpClient, BulkError.BulkError | UsageError> => {
  const http = NodeHttpClient.layerUndici
  if (c.emulator) {
    const auth = Layer.unwrapScoped(
      Effect.map(startEmulator({ latencyMs: 20 }), (facts) =>
        SalesforceAuth.oauthPassword({
          loginUrl: facts.loginUrl,
          clientId: facts.clientId,
          clientSecret: Redacted.make(facts.clientSecret),
          username: facts.username,
          password: Redacted.make(facts.password),
          securityToken: Redacted.make(facts.securityToken),
          apiVersion: Option.getOrUndefined(c.apiVersion)
        }))
    )
    return Layer.provideMerge(auth, http)
  }
  const map = settings(c)
  if (map.size === 0 || [...map.keys()].every((k) => k === "SF_API_VERSION" || k === "SF_LOGIN_URL")) {
    return Layer.fail(noCredentials)
  }
  const auth = SalesforceAuth.layerConfig.pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(map))),
    Layer.mapError((e) =>
      e._tag === "AuthenticationError"
        ? e
        : new BulkError.AuthenticationError({ flow: "configuration", description: String(e) })
    )
  )
  return Layer.provideMerge(auth, http)
}

/** A running emulator. */
export type EmulatorHandle = Emulator.EmulatorHandle

/** Options of `Emulator.start`. */
export type EmulatorOptions = Emulator.EmulatorOptions

/**
 * Starts an emulator for the current scope (closed with it). Loaded on demand, so commands that do
 * not use it do not pay for loading it.
 */
export const startEmulator = (settings: EmulatorOptions): Effect.Effect<EmulatorHandle, UsageError, Scope.Scope> =>
  Effect.promise(() => import("@sfbulk/emulator")).pipe(
    Effect.flatMap((m) => m.Emulator.make(settings)),
    Effect.mapError((e) => new UsageError({ message: `the emulator could not start: ${e.reason}` }))
  )
