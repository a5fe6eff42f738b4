/**
 * The `SalesforceAuth` service: its tag and model, defined here (and re-exported by the public
 * `SalesforceAuth` module) so that the transport and the login flows depend on it without
 * depending on each other or on the public module.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type { BulkError } from "../BulkError.js"

/** A logged-in session: where to send API calls and the token to present. */
export interface Session {
  /** Origin of the org's instance, e.g. `https://acme.my.salesforce.com` (no trailing slash). */
  readonly instanceUrl: string
  /** Session id / OAuth access token; only unwrapped when a request is signed. */
  readonly accessToken: Redacted.Redacted<string>
  /** API version used for every call, e.g. `"66.0"`. */
  readonly apiVersion: string
}

/** The authentication service. */
export interface Service {
  /** API version every request uses (known without logging in). */
  readonly apiVersion: string
  /** The current session, logging in on first use. */
  readonly session: Effect.Effect<Session, BulkError>
  /**
   * Replace `stale` (a session Salesforce rejected as expired) with a fresh one. Concurrent callers
   * holding the same stale session share one renewal; a caller holding an already replaced session
   * gets the current one without a new login.
   */
  readonly renew: (stale: Session) => Effect.Effect<Session, BulkError>
}

/** The authentication service tag. */
export class SalesforceAuth extends Context.Tag("@sfbulk/client/SalesforceAuth")<SalesforceAuth, Service>() {}
