/**
 * `SalesforceAuth` hands out the current Salesforce session and renews it. Layers exist for every
 * way people log in: an existing session, OAuth username-password, SOAP login, refresh token, JWT
 * bearer, client credentials, and `layerConfig` choosing one of them from the environment.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type { BulkError, AuthenticationError } from "./BulkError.js"
import * as internal from "./internal/auth.js"
import type { SalesforceAuth, Service, Session } from "./internal/session.js"

export type {
  /**
   * A logged-in session: where to send API calls and the token to present.
   *
   * @since 0.1.0
   * @category models
   */
  Session,
  /**
   * The authentication service: the current session, and its renewal.
   *
   * @since 0.1.0
   * @category models
   */
  Service
} from "./internal/session.js"

export {
  /**
   * The authentication service tag.
   *
   * @since 0.1.0
   * @category tags
   */
  SalesforceAuth
} from "./internal/session.js"

/**
 * Default API version (Spring '26).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultApiVersion: string = internal.defaultApiVersion

/**
 * Where to log in: `"production"` (login.salesforce.com), `"sandbox"` (test.salesforce.com) or a
 * My Domain / emulator URL.
 *
 * @since 0.1.0
 * @category models
 */
export type LoginHost = "production" | "sandbox" | (string & {})

/**
 * Resolve a {@link LoginHost} to a URL origin.
 *
 * @since 0.1.0
 * @category utils
 */
export const loginUrl: (host: LoginHost | undefined) => string = internal.resolveLoginUrl

/**
 * Options shared by the login flows.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoginOptions {
  /** Login host; default `"production"`. */
  readonly loginUrl?: LoginHost | undefined
  /** API version; default {@link defaultApiVersion}. */
  readonly apiVersion?: string | undefined
}

/**
 * Use an existing session (an access token or session id and its instance URL). It cannot be renewed: when it
 * expires, requests fail with `SessionExpiredError` saying so.
 *
 * @since 0.1.0
 * @category layers
 */
export const fromSession = (options: {
  readonly instanceUrl: string
  readonly accessToken: Redacted.Redacted<string> | string
  readonly apiVersion?: string | undefined
}): Layer.Layer<SalesforceAuth, AuthenticationError> => internal.fromSession(options)

/**
 * OAuth 2.0 username-password flow (`grant_type=password`); the security token is appended to the
 * password.
 *
 * @since 0.1.0
 * @category layers
 */
export const oauthPassword = (
  options: LoginOptions & {
    readonly clientId: string
    readonly clientSecret: Redacted.Redacted<string>
    readonly username: string
    readonly password: Redacted.Redacted<string>
    readonly securityToken?: Redacted.Redacted<string> | undefined
  }
): Layer.Layer<SalesforceAuth, never, HttpClient.HttpClient> => internal.oauthPassword(options)

/**
 * SOAP partner `login()` with username, password and security token, no connected app needed (what
 * the Python `salesforce-bulk` package does). Note: Salesforce removed SOAP login from API 65.0+;
 * the login call itself is made at version 64.0 when a newer one is configured.
 *
 * @since 0.1.0
 * @category layers
 */
export const soapLogin = (
  options: LoginOptions & {
    readonly username: string
    readonly password: Redacted.Redacted<string>
    readonly securityToken?: Redacted.Redacted<string> | undefined
  }
): Layer.Layer<SalesforceAuth, never, HttpClient.HttpClient> => internal.soapLogin(options)

/**
 * OAuth 2.0 refresh-token flow.
 *
 * @since 0.1.0
 * @category layers
 */
export const refreshToken = (
  options: LoginOptions & {
    readonly clientId: string
    readonly clientSecret?: Redacted.Redacted<string> | undefined
    readonly refreshToken: Redacted.Redacted<string>
    /** An access token already held, used until it expires. */
    readonly instanceUrl?: string | undefined
    readonly accessToken?: Redacted.Redacted<string> | undefined
  }
): Layer.Layer<SalesforceAuth, never, HttpClient.HttpClient> => internal.refreshToken(options)

/**
 * OAuth 2.0 JWT bearer flow: an RS256 assertion signed with `privateKey` (PEM) via `node:crypto`.
 * `audience` defaults to the login URL for production/sandbox, else `https://login.salesforce.com`.
 *
 * @since 0.1.0
 * @category layers
 */
export const jwtBearer = (
  options: LoginOptions & {
    readonly clientId: string
    readonly username: string
    readonly privateKey: Redacted.Redacted<string>
    readonly audience?: string | undefined
  }
): Layer.Layer<SalesforceAuth, never, HttpClient.HttpClient> => internal.jwtBearer(options)

/**
 * OAuth 2.0 client-credentials flow (must target the org's My Domain, not login/test).
 *
 * @since 0.1.0
 * @category layers
 */
export const clientCredentials = (
  options: LoginOptions & {
    readonly clientId: string
    readonly clientSecret: Redacted.Redacted<string>
  }
): Layer.Layer<SalesforceAuth, never, HttpClient.HttpClient> => internal.clientCredentials(options)

/**
 * Build a `SalesforceAuth` from the environment, choosing the flow from what is set:
 * `SF_INSTANCE_URL` + `SF_ACCESS_TOKEN` (session), else with `SF_LOGIN_URL` (default production):
 * `SF_PRIVATE_KEY_FILE` + `SF_CLIENT_ID` + `SF_USERNAME` (JWT), `SF_REFRESH_TOKEN` + `SF_CLIENT_ID`
 * (refresh), `SF_USERNAME` + `SF_PASSWORD` with `SF_CLIENT_ID` + `SF_CLIENT_SECRET` (OAuth password)
 * or without (SOAP login; `SF_SECURITY_TOKEN` optional), `SF_CLIENT_ID` + `SF_CLIENT_SECRET`
 * (client credentials). `SF_API_VERSION` overrides the version. A missing piece fails with an
 * `AuthenticationError` naming the variable.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<
  SalesforceAuth,
  AuthenticationError | ConfigError.ConfigError,
  HttpClient.HttpClient
> = internal.layerConfig

/**
 * Build a service from a login effect: the first `session` logs in, `renew` logs in again (one
 * renewal shared by concurrent callers).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: {
  readonly apiVersion: string
  readonly login: Effect.Effect<Session, BulkError>
  readonly initial?: Session | undefined
}) => Effect.Effect<Service> = internal.make
