/**
 * One line of "what to do next" for a failure, in terms of the CLI's own flags and commands (the
 * client's error messages already say what happened and how to fix it in library terms).
 */

interface Tagged {
  readonly _tag?: string
  readonly errorCode?: string
  readonly description?: string
  readonly stateMessage?: string
  readonly jobId?: string
  readonly flow?: string
  readonly url?: string
}

// Errors that ended a journaled import after something was sent: the one command that finishes
// it replaces the generic advice (which would name one job, or invite sending rows again).
const resumeAdvice = new WeakMap<object, string>()

/** Makes `advice` the hint of `error` (an import stopped part way, resumable from its journal). */
export const adviseResume = (error: unknown, advice: string): void => {
  if (typeof error === "object" && error !== null) resumeAdvice.set(error, advice)
}

/**
 * The message to print for `error`. A journaled import's wait that ran out keeps its jobs running:
 * the client's own advice ("wait again with job id X, or abort it") would finish one job of
 * several, or abort one whose rows the resume then reports unprocessed, so only what happened is
 * said and the hint gives the one command that finishes everything.
 */
export const messageFor = (error: unknown, message: string): string =>
  typeof error === "object" && error !== null && resumeAdvice.has(error) && (error as Tagged)._tag === "PollTimeoutError"
    ? message.replace(/ The job is still running on Salesforce: .*$/, " The jobs keep running on Salesforce.")
    : message

/** The hint for `error`, or undefined when the message says it all. */
export const hint = (error: unknown): string | undefined => {
  if (typeof error === "object" && error !== null && resumeAdvice.has(error)) return resumeAdvice.get(error)
  const e = (error ?? {}) as Tagged
  const text = `${e.description ?? ""} ${e.stateMessage ?? ""}`
  switch (e._tag) {
    case "PollTimeoutError":
      return e.jobId ? `The job is still running. Finish it later with: sfbulk resume ${e.jobId}` : undefined
    case "AuthenticationError":
      return e.flow === "none"
        ? undefined
        : "Check the credentials given by flags or SF_* variables (sfbulk --help lists them); add --emulator to try locally."
    case "SessionExpiredError":
      return "Get a fresh access token, or log in with --username/--password (or SF_USERNAME/SF_PASSWORD) so sfbulk can renew the session."
    case "JobFailedError":
    case "BatchFailedError":
    case "ApiError": {
      if (/Field name not found|INVALID_FIELD|No such column/i.test(text) || e.errorCode === "INVALID_FIELD") {
        return "A column or field does not exist on the object: fix the CSV header (or the query's field list); names are API names such as Name or My_Field__c."
      }
      if (/MALFORMED_QUERY|unexpected token|malformed/i.test(text) || e.errorCode === "MALFORMED_QUERY") {
        return "The SOQL query is malformed: check it, e.g. sfbulk export \"SELECT Id, Name FROM Account WHERE Name LIKE 'A%'\"."
      }
      if (
        e.errorCode === "InvalidEntity" || e.errorCode === "INVALID_TYPE" ||
        /find object|sObject type|Entity|InvalidEntity|not supported by the Bulk API/i.test(text)
      ) {
        return "The object does not exist or is not supported by the Bulk API: check its API name (e.g. Account, My_Object__c)."
      }
      if (e.errorCode === "NOT_FOUND" || e.errorCode === "InvalidJob" || e.errorCode === "INVALIDJOB") {
        return "Check the job id: sfbulk job list shows the org's jobs."
      }
      return undefined
    }
    case "TransportError":
      return /\/services\/(oauth2|Soap)\//.test(e.url ?? "")
        ? "Check --login-url / SF_LOGIN_URL and the network."
        : "Check --instance-url / SF_INSTANCE_URL and the network; sfbulk job list tells whether a job was created."
    case "LimitExceededError":
      return "Retry later, or lower --concurrency."
    default:
      return undefined
  }
}
