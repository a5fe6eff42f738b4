import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as BulkError from "../src/BulkError.js"

describe("BulkError", () => {
  it("every error says what happened and where, and round-trips through the union schema", () => {
    const errors: Array<BulkError.BulkError> = [
      new BulkError.AuthenticationError({ flow: "SOAP login", description: "Invalid username", errorCode: "INVALID_LOGIN" }),
      new BulkError.SessionExpiredError({ instanceUrl: "https://a.my.salesforce.com", description: "bare token" }),
      new BulkError.ApiError({
        errorCode: "InvalidJob",
        status: 400,
        description: "Unable to find object: Foo",
        method: "POST",
        path: "/services/async/66.0/job"
      }),
      new BulkError.LimitExceededError({
        errorCode: "REQUEST_LIMIT_EXCEEDED",
        status: 403,
        description: "ConcurrentPerOrgLongTxn Limit exceeded.",
        method: "GET",
        path: "/x",
        retryAfterMillis: 5000
      }),
      new BulkError.JobFailedError({ jobId: "750x", state: "Failed", stateMessage: "boom" }),
      new BulkError.BatchFailedError({ jobId: "750x", batchId: "751y", stateMessage: "InvalidBatch : Field name not found : Foo" }),
      new BulkError.PollTimeoutError({ jobId: "750x", batchId: "751y", timeoutMillis: 60000 }),
      new BulkError.InvalidInputError({ what: "unknown field", row: 3, field: "Foo" }),
      new BulkError.TransportError({
        description: "socket hang up",
        method: "POST",
        url: "https://a/x",
        mayHaveReachedServer: true,
        jobId: "750x"
      }),
      new BulkError.ResultMismatchError({ jobId: "750x", expected: 10, got: 9 })
    ]
    for (const e of errors) {
      expect(BulkError.isBulkError(e)).toBe(true)
      expect(e.message.length).toBeGreaterThan(20)
      const encoded = Schema.encodeSync(BulkError.BulkError)(e)
      const decoded = Schema.decodeUnknownSync(BulkError.BulkError)(JSON.parse(JSON.stringify(encoded)))
      expect(decoded._tag).toBe(e._tag)
      expect(decoded.message).toBe(e.message)
    }
    expect(errors[5]!.message).toContain("751y")
    expect(errors[6]!.message).toMatch(/still running.*750x/)
    expect(errors[7]!.message).toMatch(/row 3.*Foo/)
  })

  it("isRetryable follows what a retry can fix", () => {
    const api = (status: number, errorCode: string) =>
      new BulkError.ApiError({ errorCode, status, description: "", method: "GET", path: "/" })
    expect(api(503, "ServerUnavailable").isRetryable).toBe(true)
    expect(api(500, "InternalServerError").isRetryable).toBe(true)
    expect(api(400, "InvalidBatch").isRetryable).toBe(false)
    const limit = (status: number, errorCode: string, description: string) =>
      new BulkError.LimitExceededError({ errorCode, status, description, method: "GET", path: "/" })
    expect(limit(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.").isRetryable).toBe(true)
    expect(limit(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.").isRetryable).toBe(false)
    expect(limit(400, "ExceededQuota", "ApiBatchItems Limit exceeded.").isRetryable).toBe(false)
    expect(limit(429, "ExceededQuota", "slow down").isRetryable).toBe(true)
    expect(new BulkError.InvalidInputError({ what: "x" }).isRetryable).toBe(false)
    expect(BulkError.isSessionInvalid(api(400, "InvalidSessionId"))).toBe(true)
    expect(BulkError.isSessionInvalid(api(401, "INVALID_SESSION_ID"))).toBe(true)
  })
})
