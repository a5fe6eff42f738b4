/**
 * The process exit codes of `sfbulk`: one per kind of outcome, so scripts can tell a partial
 * failure from bad credentials, a bad input file, a Salesforce rejection, a limit or a timeout.
 *
 * @since 0.1.0
 */

/**
 * Every exit code `sfbulk` uses.
 *
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = {
  /** Everything succeeded (or some rows failed and `--allow-partial` was given). */
  Ok: 0,
  /** A bug or an unexpected failure (rerun with `--verbose` and report it). */
  Unexpected: 1,
  /** The command line is wrong: unknown command or flag, missing or invalid value. */
  Usage: 2,
  /** The operation ran but some rows failed or were not processed (see the result files). */
  RowsFailed: 3,
  /** Login failed (`AuthenticationError`): wrong credentials, login host or flow. */
  Authentication: 4,
  /** The session expired and cannot be renewed (`SessionExpiredError`). */
  SessionExpired: 5,
  /** The input cannot be used (`InvalidInputError`): missing file, unreadable CSV, bad row or value. */
  InvalidInput: 6,
  /** Salesforce rejected a request (`ApiError`): unknown object or field, malformed query, bad job id. */
  Api: 7,
  /** An API limit was hit (`LimitExceededError`): request limit, concurrent jobs, daily quota. */
  LimitExceeded: 8,
  /** A job ended `Failed` or `Aborted` (`JobFailedError`), e.g. a CSV header naming an unknown field. */
  JobFailed: 9,
  /** A Bulk API 1.0 batch ended `Failed` (`BatchFailedError`). */
  BatchFailed: 10,
  /** Waiting ran out of time (`PollTimeoutError`); the job still runs: `sfbulk resume <job-id>`. */
  Timeout: 11,
  /** The instance could not be reached or an answer was cut off (`TransportError`). */
  Transport: 12,
  /** Salesforce's counts disagree with the rows returned (`ResultMismatchError`). */
  ResultMismatch: 13,
  /** A query row does not match the expected shape (`RowDecodeError`). */
  RowDecode: 14,
  /** Interrupted (Ctrl-C); jobs already submitted keep running and can be resumed. */
  Interrupted: 130
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode]

/**
 * The exit code for a failure carrying a `_tag` (the client's `BulkError` members and the CLI's
 * own errors).
 *
 * @since 0.1.0
 * @category utils
 */
export const fromTag = (tag: string): ExitCode => {
  switch (tag) {
    case "AuthenticationError":
      return ExitCode.Authentication
    case "SessionExpiredError":
      return ExitCode.SessionExpired
    case "InvalidInputError":
      return ExitCode.InvalidInput
    case "ApiError":
      return ExitCode.Api
    case "LimitExceededError":
      return ExitCode.LimitExceeded
    case "JobFailedError":
      return ExitCode.JobFailed
    case "BatchFailedError":
      return ExitCode.BatchFailed
    case "PollTimeoutError":
      return ExitCode.Timeout
    case "TransportError":
      return ExitCode.Transport
    case "ResultMismatchError":
      return ExitCode.ResultMismatch
    case "RowDecodeError":
      return ExitCode.RowDecode
    case "UsageError":
    case "ValidationError":
      return ExitCode.Usage
    case "RowsFailed":
      return ExitCode.RowsFailed
    default:
      return ExitCode.Unexpected
  }
}
