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
import * as ChildProcess from "node:child_process"

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
  ),
  targetOrg: Options.text("target-org").pipe(
    Options.withDescription(
      "Use the session of an org you logged in to with the Salesforce CLI (`sf org login web`): its alias or username. " +
        "Runs `sf org display --target-org <org> --json`; replaces the other credential flags and SF_* variables"
    ),
    Options.optional
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
    "or --target-org <alias> to use your Salesforce CLI login, or add --emulator to try against a local emulator"
})

/**
 * The `SalesforceAuth` for these flags (an embedded emulator with `--emulator`, its lifetime the
 * layer's), plus the HTTP client.
 */
export const authLayer = (
  c: Connection
): Layer.Layer<SalesforceAuth.SalesforceAuth | import("@effect/platform/HttpClient").HttpClient, BulkError.BulkError | UsageError> => {
  const http = NodeHttpClient.layerUndici
  if (Option.isSome(c.targetOrg)) {
    const given = ENV.filter(([key]) => key !== "apiVersion" && Option.isSome(c[key] as Option.Option<unknown>)).map(([key]) => key)
    if (c.emulator || given.length > 0) {
      const flags = [...(c.emulator ? ["--emulator"] : []), ...given.map((k) => `--${k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`)]
      return Layer.fail(
        new UsageError({ message: `--target-org takes the login from the Salesforce CLI: drop ${flags.join(", ")} (or drop --target-org)` })
      )
    }
    const org = c.targetOrg.value
    const auth = Layer.unwrapEffect(
      Effect.map(sfLogin(org), (login) =>
        SalesforceAuth.fromSession({
          instanceUrl: login.instanceUrl,
          accessToken: login.accessToken,
          apiVersion: Option.getOrUndefined(c.apiVersion) ?? process.env["SF_API_VERSION"] ?? apiVersionFor(login.apiVersion)
        }))
    )
    return Layer.provideMerge(auth, http)
  }
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

// ---------------------------------------------------------------------------------------------
// --target-org: the Salesforce CLI's login
// ---------------------------------------------------------------------------------------------

/** What `--target-org` takes from the Salesforce CLI. */
export interface SfLogin {
  readonly instanceUrl: string
  readonly accessToken: Redacted.Redacted<string>
  /** The org's own API version (`apiVersion` of `sf org display`), when reported. */
  readonly apiVersion: string | undefined
}

// Errors whose description is the whole story in CLI terms (the client's generic advice, written
// for library users, would mislead here): `run` prints the description alone.
const ownWords = new WeakSet<object>()

/** Whether `error`'s description says it all (see `run` in Cli.ts). */
export const describesItself = (error: unknown): boolean => typeof error === "object" && error !== null && ownWords.has(error)

const quoteArg = (s: string) => (/^[\w.@+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`)

/** The advice for a Salesforce CLI login of `org` that no longer works. */
export const loginAgain = (org: string): string =>
  `log in again with: sf org login web --alias ${quoteArg(org)} (add --instance-url https://test.salesforce.com for a sandbox), then rerun`

/** Runs `sf args...` and parses the JSON it prints; a missing `sf` or unreadable output is a usage error. */
const sfJson = (args: ReadonlyArray<string>): Effect.Effect<{ readonly code: number; readonly json: any }, UsageError> =>
  Effect.async<{ readonly code: number; readonly json: any }, UsageError>((resume) => {
    const child = ChildProcess.execFile(
      process.env["SFBULK_SF"] ?? "sf",
      [...args],
      // the Salesforce CLI's own colours and prompts have no place in parsed output
      {
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, SF_DISABLE_COLORS: "true", FORCE_COLOR: "0" },
        windowsHide: true
      },
      (error, stdout) => {
        const code = (error as { code?: unknown } | null)?.code
        if (code === "ENOENT") {
          return resume(Effect.fail(
            new UsageError({
              message: "--target-org needs the Salesforce CLI (sf), which was not found on PATH: install it " +
                "(npm install --global @salesforce/cli, see developer.salesforce.com/tools/salesforcecli), " +
                "or give credentials another way (sfbulk --help lists them)"
            })
          ))
        }
        let json: any
        try {
          // the JSON document is the output; anything before its first brace (a warning) is skipped
          json = JSON.parse(stdout.slice(Math.max(0, stdout.indexOf("{"))))
        } catch {
          return resume(Effect.fail(
            new UsageError({
              message: `\`sf ${args.join(" ")}\` did not print JSON${error ? ` (${error.message.split("\n")[0]})` : ""}: ` +
                "check that `sf --version` works (Salesforce CLI v2)"
            })
          ))
        }
        resume(Effect.succeed({ code: typeof code === "number" ? code : error ? 1 : 0, json }))
      }
    )
    return Effect.sync(() => void child.kill())
  })

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined)

/**
 * The session of the Salesforce CLI's org `org`: `sf org display --target-org <org> --json`
 * (`result.instanceUrl`, `result.accessToken`, `result.apiVersion`, `result.connectedStatus`;
 * `status` 0 on success). Since Salesforce CLI versions that print the access token as
 * `[REDACTED] ...`, the token comes from `sf org auth show-access-token --target-org <org> --json`
 * (`result.accessToken`) instead. The token is kept `Redacted`: never printed, logged or written.
 */
export const sfLogin = (org: string): Effect.Effect<SfLogin, UsageError | BulkError.SessionExpiredError> =>
  Effect.gen(function*() {
    const display = yield* sfJson(["org", "display", "--target-org", org, "--json"])
    const result = display.json?.result
    if (display.code !== 0 || display.json?.status !== 0 || typeof result !== "object" || result === null) {
      const said = str(display.json?.message) ?? str(display.json?.name) ?? "no result"
      return yield* new UsageError({
        message: `the Salesforce CLI has no usable login for ${JSON.stringify(org)} (sf says: ${said.trim()}): ` +
          `check the alias or username with \`sf org list\`, or ${loginAgain(org)}`
      })
    }
    const instanceUrl = str(result.instanceUrl)
    const status = str(result.connectedStatus)
    // `connectedStatus` is "Connected" once sf refreshed the session, else the refresh's error (an
    // expired or revoked login); scratch orgs report none.
    if (status !== undefined && status !== "Connected") {
      const error = new BulkError.SessionExpiredError({
        instanceUrl: instanceUrl ?? org,
        description: `the Salesforce CLI's login for ${JSON.stringify(org)} cannot be used (sf reports: ${status}). ` +
          (/maintenance|bad response/i.test(status)
            ? "The org may be down for maintenance: try later, or "
            : "The session has expired or was revoked: ") +
          loginAgain(org)
      })
      ownWords.add(error)
      return yield* error
    }
    if (instanceUrl === undefined) {
      return yield* new UsageError({ message: `\`sf org display --target-org ${org}\` reported no instanceUrl: ${loginAgain(org)}` })
    }
    let token = str(result.accessToken)
    if (token === undefined || token.startsWith("[REDACTED]") || /\s/.test(token)) {
      const shown = yield* sfJson(["org", "auth", "show-access-token", "--target-org", org, "--json"])
      token = shown.code === 0 ? str(shown.json?.result?.accessToken) : undefined
      if (token === undefined) {
        return yield* new UsageError({
          message: `the Salesforce CLI did not hand over the access token of ${JSON.stringify(org)} ` +
            `(\`sf org auth show-access-token --target-org ${org} --json\` failed: ${str(shown.json?.message) ?? "no token"}): ${
              loginAgain(org)
            }`
        })
      }
    }
    return { instanceUrl, accessToken: Redacted.make(token), apiVersion: str(result.apiVersion) }
  })

/**
 * The API version to use with an sf login: the org's own when older than the client's default (an
 * org on an older release cannot serve a newer version), else the client's default.
 */
const apiVersionFor = (orgVersion: string | undefined): string | undefined =>
  orgVersion !== undefined && /^\d+\.\d+$/.test(orgVersion) && Number(orgVersion) < Number(SalesforceAuth.defaultApiVersion)
    ? orgVersion
    : undefined
