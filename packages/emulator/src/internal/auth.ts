/**
 * Login endpoints and sessions: OAuth 2.0 token endpoint (password, refresh_token,
 * client_credentials, JWT bearer), token revocation and SOAP `login()` (protocol §2).
 */
import {
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
  verify,
  X509Certificate
} from "node:crypto"
import { to15 } from "./ids.js"
import { element, escapeXml, firstElementText } from "./xml.js"

/** The one user the emulator knows, and the connected app it trusts. */
export interface Credentials {
  readonly username: string
  readonly password: string
  readonly securityToken: string
  readonly clientId: string
  readonly clientSecret: string
  /** PEM private key matching `publicKey` (undefined when only a public key/certificate was configured). */
  readonly privateKeyPem: string | undefined
  /** Verifies JWT bearer assertions. */
  readonly publicKey: KeyObject
}

/** Credential overrides accepted from users. */
export interface CredentialsInput {
  readonly username?: string
  readonly password?: string
  readonly securityToken?: string
  readonly clientId?: string
  readonly clientSecret?: string
  /** PEM private key (PKCS#8 or PKCS#1) for the JWT flow; its public half verifies assertions. */
  readonly privateKeyPem?: string
  /** PEM certificate or public key that verifies JWT assertions (as uploaded to a connected app). */
  readonly certificatePem?: string
}

/** Default credentials, with a fresh RSA key pair unless one is given. */
export const makeCredentials = (input: CredentialsInput = {}): Credentials => {
  let privateKeyPem = input.privateKeyPem
  let publicKey: KeyObject
  if (input.certificatePem !== undefined) {
    publicKey = input.certificatePem.includes("BEGIN CERTIFICATE")
      ? new X509Certificate(input.certificatePem).publicKey
      : createPublicKey(input.certificatePem)
  } else if (privateKeyPem !== undefined) {
    publicKey = createPublicKey(privateKeyPem)
  } else {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 })
    privateKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString()
    publicKey = pair.publicKey
  }
  return {
    username: input.username ?? "admin@sfbulk.emulator",
    password: input.password ?? "emulator-password",
    securityToken: input.securityToken ?? "EMUSECURITYTOKEN0123",
    clientId: input.clientId ?? "3MVG9sfbulkEmulatorConsumerKey0000000000000000000000000000000000000000000000000000",
    clientSecret: input.clientSecret ?? "EMULATORCONSUMERSECRET0123456789",
    privateKeyPem,
    publicKey
  }
}

/** One access token's session. */
export interface Session {
  readonly token: string
  readonly userId: string
  readonly orgId: string
  readonly issuedAt: number
  readonly expiresAt: number
  /** Authenticated requests made with it (for `expire-after`). */
  uses: number
  /** The refresh token it was issued with (revoking that one revokes this session too). */
  readonly refreshToken: string | undefined
}

/** Why a token was not accepted. */
export type Rejection = "unknown" | "expired"

const tokenChars = (bytes: number): string => randomBytes(bytes).toString("base64url").replace(/-/g, ".")

/** Access and refresh tokens of one org. */
export class Sessions {
  private readonly sessions = new Map<string, Session>()
  private readonly refreshTokens = new Set<string>()
  issued = 0
  constructor(
    readonly orgId: string,
    readonly userId: string,
    private ttlMs: number,
    private readonly now: () => number
  ) {}

  /** A new access token `00D<orgid15>!<random>`. */
  issue(refreshToken?: string): Session {
    const now = this.now()
    const token = `${to15(this.orgId)}!AQ${tokenChars(48)}`
    const s: Session = { token, userId: this.userId, orgId: this.orgId, issuedAt: now, expiresAt: now + this.ttlMs, uses: 0, refreshToken }
    this.sessions.set(token, s)
    this.issued++
    return s
  }

  /** A new refresh token. */
  issueRefresh(): string {
    const t = `5Aep861${tokenChars(60)}`
    this.refreshTokens.add(t)
    return t
  }

  hasRefresh(token: string): boolean {
    return this.refreshTokens.has(token)
  }

  /** The live session of an access token, or why not. Expired sessions are dropped. */
  lookup(token: string): Session | Rejection {
    const s = this.sessions.get(token)
    if (s === undefined) return "unknown"
    if (this.now() >= s.expiresAt) {
      this.sessions.delete(token)
      return "expired"
    }
    return s
  }

  /** End one session (used by `expire-after`). */
  end(token: string): void {
    this.sessions.delete(token)
  }

  /** Revoke an access token, or a refresh token and every session issued with it. */
  revoke(token: string): boolean {
    if (this.sessions.delete(token)) return true
    if (!this.refreshTokens.delete(token)) return false
    for (const [t, s] of this.sessions) if (s.refreshToken === token) this.sessions.delete(t)
    return true
  }

  /** Sessions not yet expired or revoked. */
  active(): number {
    const now = this.now()
    let n = 0
    for (const s of this.sessions.values()) if (now < s.expiresAt) n++
    return n
  }

  setTtl(ttlMs: number): void {
    this.ttlMs = ttlMs
  }
}

/** An answer from a login endpoint. */
export interface LoginAnswer {
  readonly status: number
  readonly contentType: string
  readonly body: string
  readonly headers?: Record<string, string>
}

/** What the login endpoints need. */
export interface AuthContext {
  readonly credentials: Credentials
  readonly sessions: Sessions
  /** The emulator's origin (`http://127.0.0.1:PORT`): login URL and instance URL. */
  origin(): string
  now(): number
  /** Session lifetime reported by SOAP login. */
  ttlSeconds(): number
}

const JSON_TYPE = "application/json;charset=UTF-8"
const NO_CACHE = { "Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private" }

const oauthError = (error: string, description: string, status = 400): LoginAnswer => ({
  status,
  contentType: JSON_TYPE,
  body: JSON.stringify({ error, error_description: description }),
  headers: NO_CACHE
})

const equal = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

const identityUrl = (auth: AuthContext): string => `${auth.origin()}/id/${auth.sessions.orgId}/${auth.sessions.userId}`

const success = (auth: AuthContext, session: Session, extra: Record<string, string>): LoginAnswer => {
  const id = identityUrl(auth)
  const issuedAt = String(session.issuedAt)
  const signature = createHmac("sha256", auth.credentials.clientSecret).update(id + issuedAt).digest("base64")
  return {
    status: 200,
    contentType: JSON_TYPE,
    headers: NO_CACHE,
    body: JSON.stringify({
      access_token: session.token,
      ...extra,
      signature,
      instance_url: auth.origin(),
      id,
      token_type: "Bearer",
      issued_at: issuedAt
    })
  }
}

/** `POST /services/oauth2/token` with the form parameters (body and query merged). */
export const token = (auth: AuthContext, params: URLSearchParams, authorization: string | undefined): LoginAnswer => {
  const c = auth.credentials
  const grant = params.get("grant_type")
  const checkClient = (requireSecret: boolean): LoginAnswer | undefined => {
    let clientId = params.get("client_id")
    let clientSecret = params.get("client_secret")
    if (authorization !== undefined && /^basic\s+/i.test(authorization)) {
      const decoded = Buffer.from(authorization.replace(/^basic\s+/i, ""), "base64").toString("utf8")
      const colon = decoded.indexOf(":")
      if (colon >= 0) {
        clientId = decodeURIComponent(decoded.slice(0, colon))
        clientSecret = decodeURIComponent(decoded.slice(colon + 1))
      }
    }
    if (clientId === null || !equal(clientId, c.clientId)) return oauthError("invalid_client_id", "client identifier invalid")
    if (requireSecret && (clientSecret === null || !equal(clientSecret, c.clientSecret))) {
      return oauthError("invalid_client", "invalid client credentials")
    }
    if (!requireSecret && clientSecret !== null && !equal(clientSecret, c.clientSecret)) {
      return oauthError("invalid_client", "invalid client credentials")
    }
    return undefined
  }
  switch (grant) {
    case "password": {
      const bad = checkClient(true)
      if (bad) return bad
      const username = params.get("username") ?? ""
      const password = params.get("password") ?? ""
      if (!equal(username.toLowerCase(), c.username.toLowerCase()) || !equal(password, c.password + c.securityToken)) {
        return oauthError("invalid_grant", "authentication failure")
      }
      // Deviation: Salesforce issues no refresh token in this flow; the emulator does, so clients can test refresh.
      const refresh = auth.sessions.issueRefresh()
      return success(auth, auth.sessions.issue(refresh), { refresh_token: refresh, scope: "api refresh_token" })
    }
    case "refresh_token": {
      const bad = checkClient(false)
      if (bad) return bad
      const refresh = params.get("refresh_token") ?? ""
      if (!auth.sessions.hasRefresh(refresh)) return oauthError("invalid_grant", "expired access/refresh token")
      return success(auth, auth.sessions.issue(refresh), { scope: "api refresh_token" })
    }
    case "client_credentials": {
      const bad = checkClient(true)
      if (bad) return bad
      return success(auth, auth.sessions.issue(), { scope: "api" })
    }
    case "urn:ietf:params:oauth:grant-type:jwt-bearer":
      return jwtBearer(auth, params.get("assertion") ?? "")
    case null:
    case "":
      return oauthError("unsupported_grant_type", "grant type not supported")
    default:
      return oauthError("unsupported_grant_type", "grant type not supported")
  }
}

/** Accepted clock skew and the longest assertion lifetime (Salesforce asks for exp within ~3 minutes). */
const JWT_SKEW_SECONDS = 30
const JWT_MAX_LIFETIME_SECONDS = 600

const jwtBearer = (auth: AuthContext, assertion: string): LoginAnswer => {
  const c = auth.credentials
  const parts = assertion.split(".")
  if (parts.length !== 3) return oauthError("invalid_grant", "invalid assertion")
  let header: Record<string, unknown>
  let claims: Record<string, unknown>
  try {
    header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8"))
    claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"))
  } catch {
    return oauthError("invalid_grant", "invalid assertion")
  }
  if (header === null || typeof header !== "object" || claims === null || typeof claims !== "object") {
    return oauthError("invalid_grant", "invalid assertion")
  }
  if (header.alg !== "RS256") return oauthError("invalid_grant", "invalid assertion")
  const signed = verify(
    "RSA-SHA256",
    Buffer.from(`${parts[0]}.${parts[1]}`),
    c.publicKey,
    Buffer.from(parts[2]!, "base64url")
  )
  if (!signed) return oauthError("invalid_grant", "invalid assertion")
  if (typeof claims.iss !== "string" || claims.iss !== c.clientId) return oauthError("invalid_client_id", "client identifier invalid")
  const origin = auth.origin().replace(/\/$/, "")
  const audiences = new Set([origin, "https://login.salesforce.com", "https://test.salesforce.com"])
  const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
  if (!auds.some((a) => typeof a === "string" && audiences.has(a.replace(/\/$/, "")))) {
    return oauthError("invalid_grant", "Audience validation failed")
  }
  const exp = typeof claims.exp === "number" ? claims.exp : typeof claims.exp === "string" ? Number(claims.exp) : NaN
  const nowSeconds = auth.now() / 1000
  if (!Number.isFinite(exp) || exp < nowSeconds - JWT_SKEW_SECONDS) return oauthError("invalid_grant", "expired authorization code")
  if (exp > nowSeconds + JWT_MAX_LIFETIME_SECONDS) return oauthError("invalid_grant", "invalid assertion")
  const subject = typeof claims.prn === "string" ? claims.prn : claims.sub
  if (typeof subject !== "string" || subject.toLowerCase() !== c.username.toLowerCase()) {
    return oauthError("invalid_grant", "user hasn't approved this consumer")
  }
  return success(auth, auth.sessions.issue(), { scope: "api" })
}

/** `POST /services/oauth2/revoke` with `token=`: 200 when revoked, 400 for an unknown token. */
export const revoke = (auth: AuthContext, params: URLSearchParams): LoginAnswer => {
  const t = params.get("token")
  if (t === null || t === "") return oauthError("invalid_request", "token parameter is required")
  return auth.sessions.revoke(t)
    ? { status: 200, contentType: JSON_TYPE, body: "", headers: NO_CACHE }
    : oauthError("unsupported_token_type", "this token type is not supported")
}

const SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
const XSI = "http://www.w3.org/2001/XMLSchema-instance"

/** A SOAP fault (HTTP 500) in the partner or enterprise fault namespace. */
export const soapFault = (flavour: "u" | "c", code: string, message: string, faultType = "UnexpectedErrorFault"): LoginAnswer => {
  const ns = flavour === "c" ? "urn:fault.enterprise.soap.sforce.com" : "urn:fault.partner.soap.sforce.com"
  return {
    status: 500,
    contentType: "text/xml;charset=UTF-8",
    body: `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP_ENV}" xmlns:sf="${ns}" xmlns:xsi="${XSI}">` +
      `<soapenv:Body><soapenv:Fault><faultcode>sf:${code}</faultcode><faultstring>${escapeXml(`${code}: ${message}`)}</faultstring>` +
      `<detail><sf:${faultType} xsi:type="sf:${faultType}"><sf:exceptionCode>${code}</sf:exceptionCode>` +
      `<sf:exceptionMessage>${escapeXml(message)}</sf:exceptionMessage></sf:${faultType}></detail>` +
      `</soapenv:Fault></soapenv:Body></soapenv:Envelope>`
  }
}

/** SOAP `login()` on `/services/Soap/{u|c}/{version}`. */
export const soapLogin = (auth: AuthContext, flavour: "u" | "c", version: string, body: string): LoginAnswer => {
  const c = auth.credentials
  if (!/<(?:[\w.-]+:)?login[\s>]/.test(body)) {
    return soapFault(flavour, "INVALID_OPERATION", "The emulator implements only the login() call of the SOAP API")
  }
  const username = firstElementText(body, "username") ?? ""
  const password = firstElementText(body, "password") ?? ""
  if (username.toLowerCase() !== c.username.toLowerCase() || !equal(password, c.password + c.securityToken)) {
    return soapFault(flavour, "INVALID_LOGIN", "Invalid username, password, security token; or user locked out.", "LoginFault")
  }
  const s = auth.sessions.issue()
  const org15 = to15(s.orgId)
  const origin = auth.origin()
  const ns = flavour === "c" ? "urn:enterprise.soap.sforce.com" : "urn:partner.soap.sforce.com"
  const userInfo = [
    element("accessibilityMode", false),
    element("chatterExternal", false),
    element("currencySymbol", "$"),
    element("orgAttachmentFileSizeLimit", 5242880),
    element("orgDefaultCurrencyIsoCode", "USD"),
    element("orgDefaultCurrencyLocale", "en_US"),
    element("orgDisallowHtmlAttachments", false),
    element("orgHasPersonAccounts", false),
    element("organizationId", s.orgId),
    element("organizationMultiCurrency", false),
    element("organizationName", "sfbulk emulator"),
    element("profileId", "00e5g000000AdmnAAC"),
    element("roleId", null),
    element("sessionSecondsValid", auth.ttlSeconds()),
    element("userDefaultCurrencyIsoCode", null),
    element("userEmail", c.username),
    element("userFullName", "Emulator Admin"),
    element("userId", s.userId),
    element("userLanguage", "en_US"),
    element("userLocale", "en_US"),
    element("userName", c.username),
    element("userTimeZone", "America/Los_Angeles"),
    element("userType", "Standard"),
    element("userUiSkin", "Theme3")
  ].join("")
  return {
    status: 200,
    contentType: "text/xml;charset=UTF-8",
    body: `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP_ENV}" xmlns="${ns}" xmlns:xsi="${XSI}">` +
      `<soapenv:Body><loginResponse><result>` +
      element("metadataServerUrl", `${origin}/services/Soap/m/${version}/${org15}`) +
      element("passwordExpired", false) +
      element("sandbox", false) +
      element("serverUrl", `${origin}/services/Soap/${flavour}/${version}/${org15}`) +
      element("sessionId", s.token) +
      element("userId", s.userId) +
      `<userInfo>${userInfo}</userInfo>` +
      `</result></loginResponse></soapenv:Body></soapenv:Envelope>`
  }
}
