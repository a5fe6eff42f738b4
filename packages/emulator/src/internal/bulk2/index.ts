/**
 * Bulk API 2.0 (`/services/data/v{ver}/jobs/ingest|query/...`): routing and error answers.
 * The server has authenticated the request; `ctx.segments` start with `"jobs"`. Errors are
 * `[{"errorCode","message"}]` (§4.12).
 */
import type { EmulatorState, Handler, RequestContext } from "../context.js"
import { abort, createIngest, parseJsonBody, patchIngest, type ResultKind, results, stringProp, upload } from "./ingest.js"
import {
  Bulk2Error,
  errorBody,
  findJob,
  type IngestJob,
  jobInfo,
  JSON_TYPE,
  listJobs,
  notFound,
  type QueryJob,
  sendJson,
  storeOf
} from "./jobs.js"
import { createQuery, queryResults, resultPages } from "./query.js"

/** Handle one Bulk API 2.0 request. */
export const handle: Handler = async (ctx, state) => {
  try {
    await route(ctx, state)
  } catch (e) {
    const err = e instanceof Bulk2Error ? e : new Bulk2Error(500, "UNKNOWN_EXCEPTION", e instanceof Error ? e.message : String(e))
    if (!ctx.req.readableEnded) ctx.req.resume()
    if (ctx.res.headersSent) {
      ctx.res.destroy()
      return
    }
    ctx.send(err.status, JSON_TYPE, errorBody(err.code, err.message))
  }
}

const methodNotAllowed = (method: string, allowed: string): Bulk2Error =>
  new Bulk2Error(405, "METHOD_NOT_ALLOWED", `HTTP Method '${method}' not allowed. Allowed are ${allowed}`)

const RESULT_KINDS: Readonly<Record<string, ResultKind>> = {
  successfulResults: "successful",
  failedResults: "failed",
  unprocessedrecords: "unprocessed",
  unprocessedRecords: "unprocessed"
}

const route = async (ctx: RequestContext, state: EmulatorState): Promise<void> => {
  const [root, kind, id, sub, ...extra] = ctx.segments
  const m = ctx.method.toUpperCase()
  const version = Number(ctx.version)
  if (root !== "jobs" || extra.length > 0) throw notFound()
  if (kind === "ingest" && version >= 41) {
    if (id === undefined) {
      if (m === "GET") return listJobs(ctx, state, "ingest")
      if (m === "POST") return createIngest(ctx, state)
      throw methodNotAllowed(m, "GET,POST")
    }
    const job = findJob(state, "ingest", id)
    if (!job) throw notFound()
    if (sub === undefined) return ingestJob(ctx, state, job, m)
    if (sub === "batches") {
      if (m !== "PUT") throw methodNotAllowed(m, "PUT")
      return upload(ctx, state, job)
    }
    const resultKind = Object.hasOwn(RESULT_KINDS, sub) ? RESULT_KINDS[sub] : undefined
    if (resultKind) {
      if (m !== "GET") throw methodNotAllowed(m, "GET")
      return results(ctx, job, resultKind)
    }
    throw notFound()
  }
  if (kind === "query" && version >= 47) {
    if (id === undefined) {
      if (m === "GET") return listJobs(ctx, state, "query")
      if (m === "POST") return createQuery(ctx, state)
      throw methodNotAllowed(m, "GET,POST")
    }
    const job = findJob(state, "query", id)
    if (!job) throw notFound()
    if (sub === undefined) return queryJob(ctx, state, job, m)
    if (sub === "results") {
      if (m !== "GET") throw methodNotAllowed(m, "GET")
      return queryResults(ctx, state, job)
    }
    if ((sub === "resultPages" || sub === "resultpages") && version >= 58) {
      if (m !== "GET") throw methodNotAllowed(m, "GET")
      return resultPages(ctx, state, job)
    }
  }
  throw notFound()
}

const patchTarget = async (ctx: RequestContext): Promise<string | undefined> => stringProp(parseJsonBody(await ctx.readBody()), "state")

const remove = (state: EmulatorState, job: IngestJob | QueryJob, allowed: ReadonlyArray<string>): void => {
  if (!allowed.includes(job.state)) {
    throw new Bulk2Error(400, "API_ERROR", "Error encountered when deleting the job because the job is not terminated")
  }
  job.deleted = true
  storeOf(state).jobs.delete(job.id.slice(0, 15))
}

const ingestJob = async (ctx: RequestContext, state: EmulatorState, job: IngestJob, m: string): Promise<void> => {
  switch (m) {
    case "GET":
      return sendJson(ctx, 200, jobInfo(job, "get"))
    case "PATCH":
      return patchIngest(ctx, state, job, await patchTarget(ctx))
    case "DELETE":
      remove(state, job, ["UploadComplete", "JobComplete", "Aborted", "Failed"])
      return ctx.send(204, undefined, "")
    default:
      throw methodNotAllowed(m, "GET,PATCH,DELETE")
  }
}

const queryJob = async (ctx: RequestContext, state: EmulatorState, job: QueryJob, m: string): Promise<void> => {
  switch (m) {
    case "GET":
      return sendJson(ctx, 200, jobInfo(job, "get"))
    case "PATCH": {
      const target = await patchTarget(ctx)
      if (target !== "Aborted") {
        throw new Bulk2Error(400, "API_ERROR", `Invalid value: '${target ?? "null"}' supplied for property: 'state'`)
      }
      abort(state, job)
      return sendJson(ctx, 200, jobInfo(job, "patch"))
    }
    case "DELETE":
      remove(state, job, ["JobComplete", "Aborted", "Failed"])
      return ctx.send(204, undefined, "")
    default:
      throw methodNotAllowed(m, "GET,PATCH,DELETE")
  }
}
