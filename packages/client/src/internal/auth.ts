/** @internal */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as SynchronizedRef from "effect/SynchronizedRef"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import { AuthenticationError, type BulkError, SessionExpiredError, TransportError } from "../BulkError.js"
import { SalesforceAuth, type Service, type Session } from "./session.js"
import { checkSecureUrl, clientClosedError, escapeXml, isClientDestroyed, parseErrorBody, xmlTag as soapTag } from "./transport.js"

export const defaultApiVersion = "66.0"

const PRODUCTION = "https://login.salesforce.com"
const SANDBOX = "https://test.salesforce.com"

export const resolveLoginUrl = (host: string | undefined): string => {
  if (host === undefined || host === "production") return PRODUCTION
  if (host === "sandbox") return SANDBOX
  return host.replace(/\/+$/, "")
}

const checkVersion = (flow: string, version: string): Effect.Effect<string, AuthenticationError> =>
  /^\d{2}\.0$/.test(version) && Number(version) >= 31 && Number(version) <= 66
    ? Effect.succeed(version)
    : Effect.fail(
      new AuthenticationError({
        flow,
        description: `API version "${version}" is not supported; use a version from 31.0 to 66.0 (default ${defaultApiVersion})`
      })
    )

const secureUrl = (flow: string, url: string, what: string): Effect.Effect<URL, AuthenticationError> =>
  Effect.mapError(checkSecureUrl(url, what), (e) => new AuthenticationError({ flow, description: e.what }))

const sameToken = (a: Session, b: Session): boolean =>
  a.instanceUrl === b.instanceUrl && Redacted.value(a.accessToken) === Redacted.value(b.accessToken)

/**
 * The session lives in a SynchronizedRef: logins and renewals run while holding it, so concurrent
 * callers wait for the one renewal in flight, and a caller whose stale session was already replaced
 * gets the replacement without logging in again.
 */
export const make = (options: {
  readonly apiVersion: string
  readonly login: Effect.Effect<Session, BulkError>
  readonly initial?: Session | undefined
}): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const ref = yield* SynchronizedRef.make<Option.Option<Session>>(Option.fromNullable(options.initial))
    const session: Effect.Effect<Session, BulkError> = SynchronizedRef.modifyEffect(ref, (current) =>
      Option.match(current, {
        onSome: (s) => Effect.succeed([s, current] as const),
        onNone: () => Effect.map(options.login, (s) => [s, Option.some(s)] as const)
      }))
    const renew = (stale: Session): Effect.Effect<Session, BulkError> =>
      SynchronizedRef.modifyEffect(ref, (current) =>
        Option.isSome(current) && !sameToken(current.value, stale)
          ? Effect.succeed([current.value, current] as const)
          : Effect.map(options.login, (s) => [s, Option.some(s)] as const))
    return { apiVersion: options.apiVersion, session, renew }
  })

export const fromSession = (options: {
  readonly instanceUrl: string
  readonly accessToken: Redacted.Redacted<string> | string
  readonly apiVersion?: string | undefined
}): Layer.Layer<SalesforceAuth, AuthenticationError> =>
  Layer.effect(
    SalesforceAuth,
    Effect.gen(function*() {
      const apiVersion = yield* checkVersion("session", options.apiVersion ?? defaultApiVersion)
      const url = yield* secureUrl("session", options.instanceUrl, "Instance URL")
      const accessToken = typeof options.accessToken === "string"
        ? Redacted.make(options.accessToken)
        : options.accessToken
      if (Redacted.value(accessToken).length === 0) {
        return yield* new AuthenticationError({ flow: "session", description: "the access token is empty" })
      }
      const initial: Session = { instanceUrl: url.origin, accessToken, apiVersion }
      return yield* make({
        apiVersion,
        initial,
        login: Effect.fail(
          new SessionExpiredError({
            instanceUrl: url.origin,
            description: "it was given as a bare access token (fromSession), which has no way to log in again"
          })
        )
      })
    })
  )

// ---------------------------------------------------------------------------------------------
// OAuth token endpoint
// ---------------------------------------------------------------------------------------------

const isTransient = (e: BulkError): boolean => (e._tag === "TransportError" || e._tag === "AuthenticationError") && e.isRetryable

/** POST a form to `{loginUrl}/services/oauth2/token` and read the session from the answer. */
const tokenRequest = (
  flow: string,
  loginUrl: string,
  apiVersion: string,
  form: Record<string, string>,
  headers?: Record<string, string>
): Effect.Effect<Session, BulkError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const base = yield* secureUrl(flow, loginUrl, "Login URL")
    const url = `${base.origin}${base.pathname.replace(/\/+$/, "")}/services/oauth2/token`
    const client = yield* HttpClient.HttpClient
    const request = HttpClientRequest.post(url).pipe(
      HttpClientRequest.setHeaders({ accept: "application/json", ...headers }),
      HttpClientRequest.setBody(HttpBody.urlParams(Object.entries(form)))
    )
    const response = yield* client.execute(request).pipe(
      Effect.timeout("60 seconds"),
      Effect.mapError((e) =>
        isClientDestroyed(e) ? clientClosedError({ method: "POST", path: url }, e) : new TransportError({
          description: e._tag === "TimeoutException" ? "no answer from the token endpoint within 60 s" : e.message,
          method: "POST",
          url,
          mayHaveReachedServer: true
        })
      )
    )
    const text = yield* Effect.mapError(response.text, (e) =>
      new TransportError({ description: e.message, method: "POST", url, mayHaveReachedServer: true }))
    if (response.status < 200 || response.status >= 300) {
      const { code, message } = parseErrorBody(text, response.status)
      return yield* new AuthenticationError({
        flow,
        description: message || `HTTP ${response.status}`,
        errorCode: code,
        status: response.status
      })
    }
    let body: Record<string, unknown>
    try {
      body = JSON.parse(text) as Record<string, unknown>
    } catch {
      return yield* new AuthenticationError({ flow, description: "the token endpoint did not answer with JSON" })
    }
    const token = body.access_token
    const instanceUrl = body.instance_url
    if (typeof token !== "string" || typeof instanceUrl !== "string") {
      return yield* new AuthenticationError({
        flow,
        description: "the token endpoint answer has no access_token or instance_url"
      })
    }
    const instance = yield* secureUrl(flow, instanceUrl, "Instance URL returned by the token endpoint")
    return { instanceUrl: instance.origin, accessToken: Redacted.make(token), apiVersion }
  }).pipe(
    Effect.retry({ schedule: Schedule.exponential("500 millis").pipe(Schedule.intersect(Schedule.recurs(2))), while: isTransient }),
    Effect.withSpan("sfbulk.login", { attributes: { "sfbulk.flow": flow } })
  )

const layerFromLogin = (
  flow: string,
  apiVersionIn: string | undefined,
  login: (apiVersion: string) => Effect.Effect<Session, BulkError, HttpClient.HttpClient>,
  initial?: (apiVersion: string) => Effect.Effect<Session | undefined, AuthenticationError>
): Layer.Layer<SalesforceAuth, never, HttpClient.HttpClient> =>
  Layer.effect(
    SalesforceAuth,
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const apiVersion = apiVersionIn ?? defaultApiVersion
      const versionCheck = checkVersion(flow, apiVersion)
      const first = initial === undefined ? Effect.succeed(undefined) : initial(apiVersion)
      const initialSession = yield* Effect.either(first)
      return yield* make({
        apiVersion,
        initial: initialSession._tag === "Right" ? initialSession.right : undefined,
        login: Effect.zipRight(
          initialSession._tag === "Left" ? Effect.fail(initialSession.left) : versionCheck,
          Effect.provideService(login(apiVersion), HttpClient.HttpClient, client)
        )
      })
    })
  )

export const oauthPassword = (options: {
  readonly loginUrl?: string | undefined
  readonly apiVersion?: string | undefined
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly securityToken?: Redacted.Redacted<string> | undefined
}): Layer.Layer<SalesforceAuth, never, HttpClient.HttpClient> =>
  layerFromLogin(
    "OAuth username-password",
    options.apiVersion,
    (apiVersion) =>
      tokenRequest("OAuth username-password", resolveLoginUrl(options.loginUrl), apiVersion, {
        grant_type: "password",
        client_id: options.clientId,
        client_secret: Redacted.value(options.clientSecret),
        username: options.username,
        password: Redacted.value(options.password) +
          (options.securityToken === undefined ? "" : Redacted.value(options.securityToken))
      })
  )

export const refreshToken = (options: {
  readonly loginUrl?: string | undefined
  readonly apiVersion?: string | undefined
  readonly clientId: string
  readonly clientSecret?: Redacted.Redacted<string> | undefined
  readonly refreshToken: Redacted.Redacted<string>
  readonly instanceUrl?: string | undefined
  readonly accessToken?: Redacted.Redacted<string> | undefined
}): Layer.Layer<SalesforceAuth, never, HttpClient.HttpClient> =>
  layerFromLogin(
    "OAuth refresh token",
    options.apiVersion,
    (apiVersion) =>
      tokenRequest("OAuth refresh token", resolveLoginUrl(options.loginUrl), apiVersion, {
        grant_type: "refresh_token",
        client_id: options.clientId,
        refresh_token: Redacted.value(options.refreshToken),
        ...(options.clientSecret === undefined ? {} : { client_secret: Redacted.value(options.clientSecret) })
      }),
    (apiVersion) =>
      options.instanceUrl !== undefined && options.accessToken !== undefined
        ? Effect.map(
          secureUrl("OAuth refresh token", options.instanceUrl, "Instance URL"),
          (url): Session => ({ instanceUrl: url.origin, accessToken: options.accessToken!, apiVersion })
        )
        : Effect.succeed(undefined)
  )

const base64url = (input: string | Buffer): string => (typeof input === "string" ? Buffer.from(input, "utf8") : input).toString("base64url")

/** Sign a Salesforce JWT bearer assertion (RS256). */
export const signJwt = (options: {
  readonly clientId: string
  readonly username: string
  readonly audience: string
  readonly privateKey: Redacted.Redacted<string>
  readonly nowSeconds: number
}): Effect.Effect<string, AuthenticationError> =>
  Effect.try({
    try: () => {
      const header = base64url(JSON.stringify({ alg: "RS256" }))
      const claims = base64url(JSON.stringify({
        iss: options.clientId,
        sub: options.username,
        aud: options.audience,
        exp: options.nowSeconds + 180
      }))
      const key = Crypto.createPrivateKey(Redacted.value(options.privateKey))
      const signature = Crypto.sign("RSA-SHA256", Buffer.from(`${header}.${claims}`), key)
      return `${header}.${claims}.${base64url(signature)}`
    },
    catch: () =>
      new AuthenticationError({
        flow: "OAuth JWT bearer",
        description: "the private key could not be used to sign: give an RSA private key in PEM format"
      })
  })

export const jwtBearer = (options: {
  readonly loginUrl?: string | undefined
  readonly apiVersion?: string | undefined
  readonly clientId: string
  readonly username: string
  readonly privateKey: Redacted.Redacted<string>
  readonly audience?: string | undefined
}): Layer.Layer<SalesforceAuth, never, HttpClient.HttpClient> => {
  const loginUrl = resolveLoginUrl(options.loginUrl)
  const audience = options.audience ??
    (loginUrl === SANDBOX ? SANDBOX : options.loginUrl === undefined || loginUrl === PRODUCTION ? PRODUCTION : loginUrl)
  return layerFromLogin("OAuth JWT bearer", options.apiVersion, (apiVersion) =>
    Effect.gen(function*() {
      const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
      const assertion = yield* signJwt({ ...options, audience, nowSeconds: Math.floor(now / 1000) })
      return yield* tokenRequest("OAuth JWT bearer", loginUrl, apiVersion, {
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion
      })
    }))
}

export const clientCredentials = (options: {
  readonly loginUrl?: string | undefined
  readonly apiVersion?: string | undefined
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
}): Layer.Layer<SalesforceAuth, never, HttpClient.HttpClient> => {
  const loginUrl = resolveLoginUrl(options.loginUrl)
  return layerFromLogin("OAuth client credentials", options.apiVersion, (apiVersion) =>
    loginUrl === PRODUCTION || loginUrl === SANDBOX
      ? Effect.fail(
        new AuthenticationError({
          flow: "OAuth client credentials",
          description: "the client-credentials flow must use the org's My Domain URL as login URL, not login/test.salesforce.com"
        })
      )
      : tokenRequest("OAuth client credentials", loginUrl, apiVersion, {
        grant_type: "client_credentials",
        client_id: options.clientId,
        client_secret: Redacted.value(options.clientSecret)
      }))
}

// ---------------------------------------------------------------------------------------------
// SOAP login
// ---------------------------------------------------------------------------------------------

/** Parse a SOAP login answer into a session, or the fault into an AuthenticationError. */
export const parseSoapLogin = (
  xml: string,
  status: number,
  apiVersion: string
): Effect.Effect<Session, AuthenticationError> =>
  Effect.gen(function*() {
    const flow = "SOAP login"
    const fault = soapTag(xml, "Fault")
    if (fault !== undefined || status >= 300) {
      const code = soapTag(xml, "exceptionCode") ?? soapTag(xml, "faultcode")?.replace(/^[\w-]+:/, "")
      const message = soapTag(xml, "exceptionMessage") ?? soapTag(xml, "faultstring") ?? `HTTP ${status}`
      return yield* new AuthenticationError({
        flow,
        description: message,
        status,
        ...(code !== undefined ? { errorCode: code } : {})
      })
    }
    const serverUrl = soapTag(xml, "serverUrl")
    const sessionId = soapTag(xml, "sessionId")
    if (serverUrl === undefined || sessionId === undefined) {
      return yield* new AuthenticationError({ flow, description: "the login answer has no serverUrl or sessionId" })
    }
    const url = yield* secureUrl(flow, serverUrl, "serverUrl returned by SOAP login")
    return { instanceUrl: url.origin, accessToken: Redacted.make(sessionId), apiVersion }
  })

export const soapLogin = (options: {
  readonly loginUrl?: string | undefined
  readonly apiVersion?: string | undefined
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly securityToken?: Redacted.Redacted<string> | undefined
}): Layer.Layer<SalesforceAuth, never, HttpClient.HttpClient> =>
  layerFromLogin("SOAP login", options.apiVersion, (apiVersion) =>
    Effect.gen(function*() {
      const flow = "SOAP login"
      const base = yield* secureUrl(flow, resolveLoginUrl(options.loginUrl), "Login URL")
      // SOAP login() is gone from API 65.0 on; log in with the newest version that has it.
      const soapVersion = Number(apiVersion) > 64 ? "64.0" : apiVersion
      const url = `${base.origin}/services/Soap/u/${soapVersion}`
      const password = Redacted.value(options.password) +
        (options.securityToken === undefined ? "" : Redacted.value(options.securityToken))
      const envelope = `<?xml version="1.0" encoding="utf-8"?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">
<env:Header><urn:CallOptions><urn:client>sfbulk</urn:client></urn:CallOptions></env:Header>
<env:Body><urn:login><urn:username>${escapeXml(options.username)}</urn:username><urn:password>${
        escapeXml(password)
      }</urn:password></urn:login></env:Body>
</env:Envelope>`
      const client = yield* HttpClient.HttpClient
      const request = HttpClientRequest.post(url).pipe(
        HttpClientRequest.setHeaders({ soapaction: "login" }),
        HttpClientRequest.setBody(HttpBody.text(envelope, "text/xml; charset=UTF-8"))
      )
      const text = yield* client.execute(request).pipe(
        Effect.flatMap((r) => Effect.map(r.text, (text) => ({ text, status: r.status }))),
        Effect.timeout("60 seconds"),
        Effect.mapError((e) =>
          isClientDestroyed(e) ? clientClosedError({ method: "POST", path: url }, e) : new TransportError({
            description: e._tag === "TimeoutException" ? "no answer from SOAP login within 60 s" : e.message,
            method: "POST",
            url,
            mayHaveReachedServer: true
          })
        )
      )
      return yield* parseSoapLogin(text.text, text.status, apiVersion)
    }).pipe(
      Effect.retry({
        schedule: Schedule.exponential("500 millis").pipe(Schedule.intersect(Schedule.recurs(2))),
        while: isTransient
      }),
      Effect.withSpan("sfbulk.login", { attributes: { "sfbulk.flow": "SOAP login" } })
    ))

// ---------------------------------------------------------------------------------------------
// layerConfig
// ---------------------------------------------------------------------------------------------

const opt = (name: string) => Config.option(Config.string(name))
const optSecret = (name: string) => Config.option(Config.redacted(name))

const missing = (flow: string, names: ReadonlyArray<string>) =>
  new AuthenticationError({
    flow,
    description: `missing environment variable${names.length > 1 ? "s" : ""} ${names.join(", ")}`
  })

export const layerConfig: Layer.Layer<
  SalesforceAuth,
  AuthenticationError | ConfigError.ConfigError,
  HttpClient.HttpClient
> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const env = yield* Config.all({
      instanceUrl: opt("SF_INSTANCE_URL"),
      accessToken: optSecret("SF_ACCESS_TOKEN"),
      loginUrl: opt("SF_LOGIN_URL"),
      username: opt("SF_USERNAME"),
      password: optSecret("SF_PASSWORD"),
      securityToken: optSecret("SF_SECURITY_TOKEN"),
      clientId: opt("SF_CLIENT_ID"),
      clientSecret: optSecret("SF_CLIENT_SECRET"),
      refreshToken: optSecret("SF_REFRESH_TOKEN"),
      privateKeyFile: opt("SF_PRIVATE_KEY_FILE"),
      apiVersion: opt("SF_API_VERSION")
    })
    const v = <A>(o: Option.Option<A>): A | undefined => Option.getOrUndefined(o)
    const apiVersion = v(env.apiVersion)
    const loginUrl = v(env.loginUrl)
    const common = { apiVersion, loginUrl }
    const need = (flow: string, pairs: ReadonlyArray<readonly [string, Option.Option<unknown>]>) => {
      const absent = pairs.filter(([, o]) => Option.isNone(o)).map(([n]) => n)
      return absent.length > 0 ? Effect.fail(missing(flow, absent)) : Effect.void
    }
    if (Option.isSome(env.accessToken) || Option.isSome(env.instanceUrl)) {
      if (Option.isSome(env.refreshToken)) {
        yield* need("OAuth refresh token", [["SF_CLIENT_ID", env.clientId]])
        return refreshToken({
          ...common,
          clientId: v(env.clientId)!,
          clientSecret: v(env.clientSecret),
          refreshToken: v(env.refreshToken)!,
          instanceUrl: v(env.instanceUrl),
          accessToken: v(env.accessToken)
        })
      }
      yield* need("session", [["SF_INSTANCE_URL", env.instanceUrl], ["SF_ACCESS_TOKEN", env.accessToken]])
      return fromSession({ instanceUrl: v(env.instanceUrl)!, accessToken: v(env.accessToken)!, apiVersion })
    }
    if (Option.isSome(env.privateKeyFile)) {
      yield* need("OAuth JWT bearer", [["SF_CLIENT_ID", env.clientId], ["SF_USERNAME", env.username]])
      const file = v(env.privateKeyFile)!
      const pem = yield* Effect.tryPromise({
        try: () => Fs.readFile(file, "utf8"),
        catch: () =>
          new AuthenticationError({
            flow: "OAuth JWT bearer",
            description: `cannot read SF_PRIVATE_KEY_FILE "${file}"`
          })
      })
      return jwtBearer({ ...common, clientId: v(env.clientId)!, username: v(env.username)!, privateKey: Redacted.make(pem) })
    }
    if (Option.isSome(env.refreshToken)) {
      yield* need("OAuth refresh token", [["SF_CLIENT_ID", env.clientId]])
      return refreshToken({
        ...common,
        clientId: v(env.clientId)!,
        clientSecret: v(env.clientSecret),
        refreshToken: v(env.refreshToken)!
      })
    }
    if (Option.isSome(env.username) || Option.isSome(env.password)) {
      if (Option.isSome(env.clientId) || Option.isSome(env.clientSecret)) {
        yield* need("OAuth username-password", [
          ["SF_USERNAME", env.username],
          ["SF_PASSWORD", env.password],
          ["SF_CLIENT_ID", env.clientId],
          ["SF_CLIENT_SECRET", env.clientSecret]
        ])
        return oauthPassword({
          ...common,
          clientId: v(env.clientId)!,
          clientSecret: v(env.clientSecret)!,
          username: v(env.username)!,
          password: v(env.password)!,
          securityToken: v(env.securityToken)
        })
      }
      yield* need("SOAP login", [["SF_USERNAME", env.username], ["SF_PASSWORD", env.password]])
      return soapLogin({
        ...common,
        username: v(env.username)!,
        password: v(env.password)!,
        securityToken: v(env.securityToken)
      })
    }
    if (Option.isSome(env.clientId) || Option.isSome(env.clientSecret)) {
      yield* need("OAuth client credentials", [["SF_CLIENT_ID", env.clientId], ["SF_CLIENT_SECRET", env.clientSecret]])
      return clientCredentials({ ...common, clientId: v(env.clientId)!, clientSecret: v(env.clientSecret)! })
    }
    return yield* new AuthenticationError({
      flow: "environment",
      description: "no credentials found: set SF_INSTANCE_URL + SF_ACCESS_TOKEN, or SF_LOGIN_URL with SF_USERNAME + " +
        "SF_PASSWORD (+ SF_SECURITY_TOKEN, SF_CLIENT_ID, SF_CLIENT_SECRET), SF_REFRESH_TOKEN + SF_CLIENT_ID, " +
        "SF_PRIVATE_KEY_FILE + SF_CLIENT_ID + SF_USERNAME, or SF_CLIENT_ID + SF_CLIENT_SECRET"
    })
  })
)
