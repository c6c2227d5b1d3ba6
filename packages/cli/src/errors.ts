/** A mistake the user can fix (bad argument, unknown slug…): printed without a stack trace. */
export class CliError extends Error {
  override name = "CliError";
}
