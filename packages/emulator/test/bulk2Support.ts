/** Starting an emulator and speaking raw HTTP to its Bulk API 2.0 endpoints, for the protocol tests. */
import * as Emulator from "../src/Emulator.js"

export interface Started {
  readonly instanceUrl: string
  readonly accessToken: string
  /** Make every following 2.0 ingest job fail part-way (`batch-fail=1`), or stop doing so. */
  setBatchFail(on: boolean): Promise<void>
  stop(): Promise<void>
}

export const startEmulator = async (options: { latencyMs?: number; pageSize?: number; processingChunk?: number }): Promise<Started> => {
  const emu = await Emulator.start(options)
  return {
    instanceUrl: emu.instanceUrl,
    accessToken: emu.accessToken,
    setBatchFail: async (on: boolean) => emu.setFaults(on ? "batch-fail=1" : undefined),
    stop: () => emu.close()
  }
}

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  json(): any
}

/** A client for one emulator: `call("POST", "/jobs/ingest", {...})` under `/services/data/v66.0`. */
export const client = (emu: Started, defaultVersion = "66.0") =>
async (
  method: string,
  path: string,
  body?: unknown,
  options: { headers?: Record<string, string>; version?: string } = {}
): Promise<Answer> => {
  const headers: Record<string, string> = { authorization: `Bearer ${emu.accessToken}`, ...options.headers }
  let payload: string | Buffer | undefined
  if (typeof body === "string" || Buffer.isBuffer(body)) {
    payload = body
    headers["content-type"] ??= "text/csv"
  } else if (body !== undefined) {
    payload = JSON.stringify(body)
    headers["content-type"] ??= "application/json"
  }
  const res = await fetch(`${emu.instanceUrl}/services/data/v${options.version ?? defaultVersion}${path}`, {
    method,
    headers,
    ...(payload !== undefined ? { body: payload } : {})
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) }
}

export type Call = ReturnType<typeof client>

/** Poll a job until it reaches one of `states`. */
export const waitFor = async (call: Call, path: string, states: ReadonlyArray<string>, timeoutMs = 20_000): Promise<any> => {
  const end = Date.now() + timeoutMs
  for (;;) {
    const r = await call("GET", path)
    const info = r.json()
    if (states.includes(info.state)) return info
    if (Date.now() > end) throw new Error(`job ${path} still ${info.state} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** The keys of a JSON object, in order. */
export const keys = (o: object): Array<string> => Object.keys(o)
