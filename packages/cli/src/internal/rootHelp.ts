/**
 * The short help printed by `sfbulk`, `sfbulk --help` and `sfbulk -h` (each command's own `--help`
 * comes from `@effect/cli` and lists every flag).
 */
export const rootHelp = (version: string): string =>
  `sfbulk ${version}: move data in and out of Salesforce with the Bulk APIs

USAGE
  sfbulk <command> [arguments] [flags]

COMMANDS
  import <object> --file data.csv                 insert records (Bulk API 2.0; --api 1 for 1.0)
  update <object> --file data.csv                 update records by Id
  upsert <object> --external-id <Field> --file f  insert or update on an External ID field
  delete <object> --file ids.csv                  delete records by Id (- reads standard input)
  hard-delete <object> --file ids.csv             delete records permanently
  delete <object> --where "<condition>"           delete the records a SOQL condition selects
                                                  (--dry-run counts them; --yes skips the question)
  export "<SOQL>" [-o out.csv|.json|.ndjson]      export query rows, streamed (--all for queryAll;
                                                  --format table for reading on the terminal)
  job list | status <id> | abort <id> | results <id>
                                                  inspect and control jobs
  resume <job-id>                                 wait for a job (--async, timed out) and write its results
  limits [--all]                                  the org's API and Bulk API limits: used, remaining
  emulator [--port N]                             start a local Salesforce emulator

CREDENTIALS
  Flags or the environment: SF_INSTANCE_URL + SF_ACCESS_TOKEN, or SF_USERNAME + SF_PASSWORD
  (+ SF_SECURITY_TOKEN, SF_CLIENT_ID, SF_CLIENT_SECRET), SF_REFRESH_TOKEN, SF_PRIVATE_KEY_FILE (JWT),
  SF_LOGIN_URL (production, sandbox or My Domain), SF_API_VERSION. --target-org <alias|username>
  uses your Salesforce CLI login (sf org login web). --emulator runs any command against an
  embedded emulator.

OUTPUT
  Result files <job>-success.csv, <job>-failed.csv, <job>-unprocessed.csv beside the input or in
  --results-dir. Progress on stderr; --json prints one JSON summary on stdout. Exit codes: 0 ok,
  2 usage, 3 rows failed (--allow-partial: 0), 4 auth, 5 session expired, 6 input, 7 API error,
  8 limit, 9 job failed, 10 batch failed, 11 timeout (resumable), 12 network, 13 result counts
  disagree, 14 query row does not decode, 130 interrupted.

EXAMPLES
  $ sfbulk import Account --file accounts.csv --emulator
  $ sfbulk upsert Contact --external-id ExternalId__c --file contacts.csv --api 1 --serial
  $ sfbulk export "SELECT Id, Name, Account.Name FROM Contact" -o contacts.csv
  $ sfbulk import Account --file big.csv --async && sfbulk resume <job-id>

Run \`sfbulk <command> --help\` for every flag of a command.
`
