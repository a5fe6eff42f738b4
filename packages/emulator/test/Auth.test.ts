import { createPrivateKey, generateKeyPairSync, sign } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Emulator from "../src/Emulator.js"
import { BULK1_INVALID_SESSION, BULK2_INVALID_SESSION, bulk1Get, bulk2Get, raw, tokenRequest } from "./httpSupport.js"

let emu: Emulator.EmulatorHandle
beforeAll(async () => {
  emu = await Emulator.start()
})
afterAll(() => emu.close())

const password = () => ({
  grant_type: "password",
  client_id: emu.clientId,
  client_secret: emu.clientSecret,
  username: emu.username,
  password: emu.password + emu.securityToken
})

const json = (text: string) => JSON.parse(text) as Record<string, string>

const jwt = (claims: Record<string, unknown>, key: string, header: Record<string, unknown> = { alg: "RS256" }) => {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url")
  const data = `${enc(header)}.${enc(claims)}`
  return `${data}.${sign("RSA-SHA256", Buffer.from(data), createPrivateKey(key)).toString("base64url")}`
}
const claims = (over: Record<string, unknown> = {}) => ({
  iss: emu.clientId,
  sub: emu.username,
  aud: "https://login.salesforce.com",
  exp: Math.floor(Date.now() / 1000) + 180,
  ...over
})
const jwtRequest = (assertion: string) =>
  tokenRequest(emu.loginUrl, { grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion })

/** The token works on both APIs. */
const expectUsable = async (token: string) => {
  expect((await bulk2Get(emu.instanceUrl, token)).status).toBe(200)
  const b1 = await bulk1Get(emu.instanceUrl, token)
  expect(b1.text).not.toContain("InvalidSessionId")
}

describe("OAuth password flow", () => {
  it("issues a working access token, instance URL, identity URL and a refresh token", async () => {
    const r = await tokenRequest(emu.loginUrl, password())
    expect(r.status).toBe(200)
    expect(r.headers["content-type"]).toMatch(/^application\/json/)
    const body = json(r.text)
    expect(body.access_token).toMatch(new RegExp(`^${emu.orgId.slice(0, 15)}!`))
    expect(body.instance_url).toBe(emu.instanceUrl)
    expect(body.token_type).toBe("Bearer")
    expect(body.id).toBe(`${emu.loginUrl}/id/${emu.orgId}/${emu.userId}`)
    expect(body.issued_at).toMatch(/^\d{13}$/)
    expect(body.signature).toMatch(/=$/)
    expect(body.refresh_token).toBeTruthy()
    await expectUsable(body.access_token!)
  })

  it("rejects a wrong password, a missing security token, an unknown user", async () => {
    for (const bad of [{ password: "nope" }, { password: emu.password }, { username: "someone@else.com" }]) {
      const r = await tokenRequest(emu.loginUrl, { ...password(), ...bad })
      expect(r.status).toBe(400)
      expect(json(r.text)).toEqual({ error: "invalid_grant", error_description: "authentication failure" })
    }
  })

  it("rejects an unknown client id and a wrong client secret", async () => {
    const a = await tokenRequest(emu.loginUrl, { ...password(), client_id: "nope" })
    expect(a.status).toBe(400)
    expect(json(a.text)).toEqual({ error: "invalid_client_id", error_description: "client identifier invalid" })
    const b = await tokenRequest(emu.loginUrl, { ...password(), client_secret: "nope" })
    expect(b.status).toBe(400)
    expect(json(b.text)).toEqual({ error: "invalid_client", error_description: "invalid client credentials" })
  })

  it("rejects unsupported or missing grant types and non-POST calls", async () => {
    for (const grant of ["authorization_code", ""]) {
      const r = await tokenRequest(emu.loginUrl, { ...password(), grant_type: grant })
      expect(r.status).toBe(400)
      expect(json(r.text).error).toBe("unsupported_grant_type")
    }
    const g = await raw(`${emu.loginUrl}/services/oauth2/token`)
    expect(g.status).toBe(400)
    expect(json(g.text).error).toBe("invalid_request")
  })
})

describe("OAuth refresh_token flow", () => {
  it("exchanges the refresh token for a new working access token", async () => {
    const r = await tokenRequest(emu.loginUrl, {
      grant_type: "refresh_token",
      refresh_token: emu.refreshToken,
      client_id: emu.clientId,
      client_secret: emu.clientSecret
    })
    expect(r.status).toBe(200)
    const body = json(r.text)
    expect(body.access_token).not.toBe(emu.accessToken)
    expect(body.refresh_token).toBeUndefined()
    await expectUsable(body.access_token!)
  })

  it("rejects an unknown refresh token", async () => {
    const r = await tokenRequest(emu.loginUrl, { grant_type: "refresh_token", refresh_token: "5Aep861bogus", client_id: emu.clientId })
    expect(r.status).toBe(400)
    expect(json(r.text)).toEqual({ error: "invalid_grant", error_description: "expired access/refresh token" })
  })
})

describe("OAuth client_credentials flow", () => {
  it("accepts the client id and secret in the body", async () => {
    const r = await tokenRequest(emu.loginUrl, {
      grant_type: "client_credentials",
      client_id: emu.clientId,
      client_secret: emu.clientSecret
    })
    expect(r.status).toBe(200)
    await expectUsable(json(r.text).access_token!)
  })

  it("accepts HTTP Basic authentication", async () => {
    const basic = Buffer.from(`${emu.clientId}:${emu.clientSecret}`).toString("base64")
    const r = await tokenRequest(emu.loginUrl, { grant_type: "client_credentials" }, { Authorization: `Basic ${basic}` })
    expect(r.status).toBe(200)
    await expectUsable(json(r.text).access_token!)
    const bad = Buffer.from(`${emu.clientId}:wrong`).toString("base64")
    const f = await tokenRequest(emu.loginUrl, { grant_type: "client_credentials" }, { Authorization: `Basic ${bad}` })
    expect(f.status).toBe(400)
    expect(json(f.text).error).toBe("invalid_client")
  })
})

describe("OAuth JWT bearer flow", () => {
  it("accepts an assertion signed with the emulator's key, for each accepted audience", async () => {
    for (const aud of ["https://login.salesforce.com", "https://test.salesforce.com", emu.loginUrl]) {
      const r = await jwtRequest(jwt(claims({ aud }), emu.privateKeyPem!))
      expect(r.status).toBe(200)
      const body = json(r.text)
      expect(body.instance_url).toBe(emu.instanceUrl)
      await expectUsable(body.access_token!)
    }
  })

  it("accepts exp as a numeric string", async () => {
    const r = await jwtRequest(jwt(claims({ exp: String(Math.floor(Date.now() / 1000) + 120) }), emu.privateKeyPem!))
    expect(r.status).toBe(200)
  })

  it("rejects a signature from another key, a wrong algorithm and garbage", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString()
    for (const assertion of [jwt(claims(), other), jwt(claims(), emu.privateKeyPem!, { alg: "RS512" }), "not.a.jwt", "x"]) {
      const r = await jwtRequest(assertion)
      expect(r.status).toBe(400)
      expect(json(r.text)).toEqual({ error: "invalid_grant", error_description: "invalid assertion" })
    }
  })

  it("checks iss, aud, exp and sub", async () => {
    const key = emu.privateKeyPem!
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ iss: "someone-else" }, "invalid_client_id", "client identifier invalid"],
      [{ aud: "https://evil.example.com" }, "invalid_grant", "Audience validation failed"],
      [{ exp: Math.floor(Date.now() / 1000) - 3600 }, "invalid_grant", "expired authorization code"],
      [{ exp: Math.floor(Date.now() / 1000) + 86400 }, "invalid_grant", "invalid assertion"],
      [{ sub: "other@user.com" }, "invalid_grant", "user hasn't approved this consumer"]
    ]
    for (const [over, error, description] of cases) {
      const r = await jwtRequest(jwt(claims(over), key))
      expect(r.status).toBe(400)
      expect(json(r.text)).toEqual({ error, error_description: description })
    }
  })

  it("verifies against a configured public key", async () => {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 })
    const priv = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString()
    const pub = pair.publicKey.export({ type: "spki", format: "pem" }).toString()
    const other = await Emulator.start({ credentials: { certificatePem: pub, clientId: "my-app" } })
    try {
      expect(other.privateKeyPem).toBeUndefined()
      const assertion = jwt({ iss: "my-app", sub: other.username, aud: other.loginUrl, exp: Math.floor(Date.now() / 1000) + 60 }, priv)
      const r = await tokenRequest(other.loginUrl, { grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion })
      expect(r.status).toBe(200)
    } finally {
      await other.close()
    }
  })
})

describe("revocation", () => {
  it("revoking an access token ends its session on both APIs", async () => {
    const token = json((await tokenRequest(emu.loginUrl, password())).text).access_token!
    await expectUsable(token)
    const r = await raw(`${emu.loginUrl}/services/oauth2/revoke`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `token=${encodeURIComponent(token)}`
    })
    expect(r.status).toBe(200)
    const b1 = await bulk1Get(emu.instanceUrl, token)
    expect(b1.status).toBe(400)
    expect(b1.text).toBe(BULK1_INVALID_SESSION)
    const b2 = await bulk2Get(emu.instanceUrl, token)
    expect(b2.status).toBe(401)
    expect(b2.text).toBe(BULK2_INVALID_SESSION)
  })

  it("revoking a refresh token ends its sessions and refuses further refreshes", async () => {
    const first = json((await tokenRequest(emu.loginUrl, password())).text)
    const refreshed = json(
      (await tokenRequest(emu.loginUrl, { grant_type: "refresh_token", refresh_token: first.refresh_token!, client_id: emu.clientId })).text
    )
    await expectUsable(refreshed.access_token!)
    const r = await raw(`${emu.loginUrl}/services/oauth2/revoke?token=${encodeURIComponent(first.refresh_token!)}`)
    expect(r.status).toBe(200)
    expect((await bulk2Get(emu.instanceUrl, refreshed.access_token!)).status).toBe(401)
    expect((await bulk2Get(emu.instanceUrl, first.access_token!)).status).toBe(401)
    const again = await tokenRequest(emu.loginUrl, {
      grant_type: "refresh_token",
      refresh_token: first.refresh_token!,
      client_id: emu.clientId
    })
    expect(again.status).toBe(400)
    expect(json(again.text).error).toBe("invalid_grant")
  })

  it("answers 400 for an unknown token", async () => {
    const r = await raw(`${emu.loginUrl}/services/oauth2/revoke`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "token=nope"
    })
    expect(r.status).toBe(400)
    expect(json(r.text).error).toBe("unsupported_token_type")
  })
})

const soapBody = (username: string, pw: string, ns = "urn:partner.soap.sforce.com") =>
  `<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="${ns}"><env:Header><urn:CallOptions><urn:client>t</urn:client></urn:CallOptions></env:Header><env:Body><urn:login><urn:username>${username}</urn:username><urn:password>${
    pw.replace(/&/g, "&amp;").replace(/</g, "&lt;")
  }</urn:password></urn:login></env:Body></env:Envelope>`

describe("SOAP login", () => {
  it("returns serverUrl, sessionId and userInfo; the session works with Bulk 1.0 (any header case) and 2.0", async () => {
    const r = await raw(`${emu.loginUrl}/services/Soap/u/64.0`, {
      method: "POST",
      headers: { "Content-Type": "text/xml; charset=UTF-8", SOAPAction: "login" },
      body: soapBody(emu.username, emu.password + emu.securityToken)
    })
    expect(r.status).toBe(200)
    expect(r.text).toContain("xmlns=\"urn:partner.soap.sforce.com\"")
    const serverUrl = /<serverUrl>([^<]+)<\/serverUrl>/.exec(r.text)![1]!
    expect(serverUrl).toBe(`${emu.instanceUrl}/services/Soap/u/64.0/${emu.orgId.slice(0, 15)}`)
    const sessionId = /<sessionId>([^<]+)<\/sessionId>/.exec(r.text)![1]!
    expect(r.text).toContain(`<organizationId>${emu.orgId}</organizationId>`)
    expect(r.text).toContain(`<userName>${emu.username}</userName>`)
    expect(r.text).toContain("<sessionSecondsValid>7200</sessionSecondsValid>")
    // The Bulk 1.0 base URL clients derive from serverUrl.
    const base = serverUrl.slice(0, serverUrl.indexOf("Soap/")) + "async/64.0"
    const job = await raw(`${base}/job/750000000000000AAA`, { headers: { "X-SFDC-SESSION": sessionId } })
    expect(job.text).not.toContain("InvalidSessionId")
    expect((await bulk2Get(emu.instanceUrl, sessionId)).status).toBe(200)
  })

  it("serves the enterprise endpoint with its namespace", async () => {
    const r = await raw(`${emu.loginUrl}/services/Soap/c/60.0/`, {
      method: "POST",
      headers: { "Content-Type": "text/xml", SOAPAction: "\"\"" },
      body: soapBody(emu.username, emu.password + emu.securityToken, "urn:enterprise.soap.sforce.com")
    })
    expect(r.status).toBe(200)
    expect(r.text).toContain("xmlns=\"urn:enterprise.soap.sforce.com\"")
    expect(r.text).toContain(`/services/Soap/c/60.0/${emu.orgId.slice(0, 15)}</serverUrl>`)
  })

  it("answers a bad login with HTTP 500 and an sf:INVALID_LOGIN fault", async () => {
    const r = await raw(`${emu.loginUrl}/services/Soap/u/66.0`, {
      method: "POST",
      headers: { "Content-Type": "text/xml" },
      body: soapBody(emu.username, "wrong")
    })
    expect(r.status).toBe(500)
    expect(r.text).toContain("<faultcode>sf:INVALID_LOGIN</faultcode>")
    expect(r.text).toContain("<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>")
    expect(r.text).toContain("<sf:exceptionMessage>Invalid username, password, security token; or user locked out.</sf:exceptionMessage>")
    expect(r.text).toContain("xmlns:sf=\"urn:fault.partner.soap.sforce.com\"")
  })

  it("answers a retired version with UNSUPPORTED_API_VERSION", async () => {
    const r = await raw(`${emu.loginUrl}/services/Soap/u/20.0`, {
      method: "POST",
      headers: { "Content-Type": "text/xml" },
      body: soapBody(emu.username, emu.password + emu.securityToken)
    })
    expect(r.status).toBe(500)
    expect(r.text).toContain("<faultcode>sf:UNSUPPORTED_API_VERSION</faultcode>")
  })
})

describe("sessions", () => {
  it("expire after sessionTtlSeconds with the exact error of each API", async () => {
    const short = await Emulator.start({ sessionTtlSeconds: 0.4 })
    try {
      await expect(bulk2Get(short.instanceUrl, short.accessToken).then((r) => r.status)).resolves.toBe(200)
      await new Promise((r) => setTimeout(r, 500))
      const b1 = await bulk1Get(short.instanceUrl, short.accessToken)
      expect(b1.status).toBe(400)
      expect(b1.headers["content-type"]).toBe("application/xml")
      expect(b1.text).toBe(BULK1_INVALID_SESSION)
      const b2 = await raw(`${short.instanceUrl}/services/data/v66.0/jobs/ingest`, {
        headers: { Authorization: `Bearer ${short.accessToken}` }
      })
      expect(b2.status).toBe(401)
      expect(b2.text).toBe(BULK2_INVALID_SESSION)
      // A refresh gives a new working session.
      const r = await tokenRequest(short.loginUrl, {
        grant_type: "refresh_token",
        refresh_token: short.refreshToken,
        client_id: short.clientId
      })
      expect((await bulk2Get(short.instanceUrl, json(r.text).access_token!)).status).toBe(200)
    } finally {
      await short.close()
    }
  })

  it("Bulk 1.0 answers a JSON request's bad session in JSON", async () => {
    const r = await raw(`${emu.instanceUrl}/services/async/66.0/job`, {
      method: "POST",
      headers: { "X-SFDC-Session": "00Dbogus!x", "Content-Type": "application/json" },
      body: "{}"
    })
    expect(r.status).toBe(400)
    expect(JSON.parse(r.text)).toEqual({ exceptionCode: "InvalidSessionId", exceptionMessage: "Invalid session id" })
  })

  it("Bulk 2.0 rejects a missing token and a wrong auth scheme", async () => {
    const none = await raw(`${emu.instanceUrl}/services/data/v66.0/jobs/query`)
    expect(none.status).toBe(401)
    expect(none.text).toBe(BULK2_INVALID_SESSION)
    const basic = await raw(`${emu.instanceUrl}/services/data/v66.0/jobs/query`, { headers: { Authorization: "Basic abc" } })
    expect(basic.status).toBe(401)
    expect(JSON.parse(basic.text)[0].errorCode).toBe("INVALID_AUTH_HEADER")
    const oauth = await raw(`${emu.instanceUrl}/services/data/v66.0/limits`, { headers: { Authorization: `OAuth ${emu.accessToken}` } })
    expect(oauth.status).toBe(200)
  })
})
