// Exit codes, one per class of failure, so that scripts can tell "no such
// domain" from "the daemon is down" without parsing text. `domuctl --help`
// and docs/domuctl.md list the same table.
export const Exit = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  NotFound: 3,
  Exists: 4,
  AccessDenied: 5,
  AddressUnavailable: 6,
  ToolstackFailed: 7,
  Timeout: 8,
  Unreachable: 9,
  WrongState: 10,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

const P = 'org.domud.Domud1.Error.';
const F = 'org.freedesktop.DBus.Error.';

/** D-Bus error name -> exit code; names not listed are a generic failure. */
const BY_NAME: Readonly<Record<string, ExitCode>> = {
  [`${P}InvalidName`]: Exit.Usage,
  [`${P}InvalidArgument`]: Exit.Usage,
  [`${P}NoSuchDomain`]: Exit.NotFound,
  [`${P}NoSuchImage`]: Exit.NotFound,
  [`${P}DomainExists`]: Exit.Exists,
  [`${P}ImageExists`]: Exit.Exists,
  [`${P}ImageBusy`]: Exit.WrongState,
  [`${P}PoolExhausted`]: Exit.AddressUnavailable,
  [`${P}AddressUnavailable`]: Exit.AddressUnavailable,
  [`${P}ToolstackFailed`]: Exit.ToolstackFailed,
  [`${P}Timeout`]: Exit.Timeout,
  [`${P}NotRunning`]: Exit.WrongState,
  [`${P}AlreadyRunning`]: Exit.WrongState,
  [`${P}ShuttingDown`]: Exit.Unreachable,
  [`${F}AccessDenied`]: Exit.AccessDenied,
  [`${F}InteractiveAuthorizationRequired`]: Exit.AccessDenied,
  [`${F}BadAddress`]: Exit.Usage,
  [`${F}ServiceUnknown`]: Exit.Unreachable,
  [`${F}NameHasNoOwner`]: Exit.Unreachable,
  [`${F}Disconnected`]: Exit.Unreachable,
  [`${F}NoReply`]: Exit.Timeout,
  [`${F}Timeout`]: Exit.Timeout,
  [`${F}TimedOut`]: Exit.Timeout,
};

export function exitCodeFor(errorName: string): ExitCode {
  return BY_NAME[errorName] ?? Exit.Failure;
}

/** A failure that ends the command: one line on stderr, then `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: ExitCode,
  ) {
    super(message);
  }
}

/** A local usage mistake (bad flag, missing NAME): nothing was sent. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, Exit.Usage);
  }
}

/** The exit-code table as `--help` shows it. */
export const EXIT_HELP = `Exit status:
  0   success
  1   failure not listed below (also: doctor found an error)
  2   usage error (also a bad --bus), invalid name or invalid argument
  3   no such domain or image
  4   domain or image exists
  5   access denied, or authorization needed
  6   no free address, or the requested address is unavailable
  7   the toolstack (xm/xl) failed
  8   timed out
  9   the bus or the daemon is not reachable
  10  the domain or image is not in a state for this (not running, already running, building)`;
