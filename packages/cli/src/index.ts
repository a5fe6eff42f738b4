/**
 * `@sfbulk/cli`: the `sfbulk` command line as a library (its command tree, `run`, exit codes).
 *
 * @since 0.1.0
 */

/**
 * The command tree and `run`.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"

/**
 * The exit codes of `sfbulk`.
 *
 * @since 0.1.0
 */
export * as ExitCode from "./ExitCode.js"
