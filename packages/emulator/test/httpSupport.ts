/** Raw HTTP helpers for the emulator server tests (node:http, no client library). */
import * as http from "node:http"

export interface RawResponse {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  /** The body bytes exactly as sent (not decompressed). */
  readonly body: Buffer
  readonly text: string
}

/** One request; `body` as an array of chunks is sent with chunked transfer encoding. */
export const raw = (
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer | ReadonlyArray<string | Buffer> } = {}
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("error", reject)
      res.on("end", () => {
        const body = Buffer.concat(chunks)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString("utf8") })
      })
    })
    req.on("error", reject)
    const b = options.body
    if (Array.isArray(b)) {
      for (const c of b) req.write(c)
    } else if (b !== undefined) {
      req.write(b)
    }
    req.end()
  })

/** A form-encoded POST to the token endpoint. */
export const tokenRequest = (loginUrl: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
  raw(`${loginUrl}/services/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(params).toString()
  })

/** The exact Bulk 1.0 invalid-session body. */
export const BULK1_INVALID_SESSION =
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?><error xmlns=\"http://www.force.com/2009/06/asyncapi/dataload\"><exceptionCode>InvalidSessionId</exceptionCode><exceptionMessage>Invalid session id</exceptionMessage></error>"

/** The exact Bulk 2.0 invalid-session body. */
export const BULK2_INVALID_SESSION = "[{\"message\":\"Session expired or invalid\",\"errorCode\":\"INVALID_SESSION_ID\"}]"

/** Requests that exercise both APIs' authentication with a token. */
export const bulk1Get = (instanceUrl: string, token: string) =>
  raw(`${instanceUrl}/services/async/66.0/job/750000000000000AAA`, { headers: { "X-SFDC-Session": token } })
export const bulk2Get = (instanceUrl: string, token: string) =>
  raw(`${instanceUrl}/services/data/v66.0/limits`, { headers: { Authorization: `Bearer ${token}` } })
