// Typed failures of the toolstack layer. Each has a stable `code` that the
// bus layer maps to a D-Bus error name; the message is for people.

export class ToolstackError extends Error {
  readonly code: string = 'Toolstack';
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The toolstack says the domain does not exist (whatever its exit status). */
export class DomainNotFoundError extends ToolstackError {
  override readonly code = 'DomainNotFound';
  constructor(readonly domain: string, readonly firstLine: string) {
    super(`domain ${domain} does not exist: ${firstLine}`);
  }
}

/** create refused: a domain of that name exists already. */
export class DomainExistsError extends ToolstackError {
  override readonly code = 'DomainExists';
  constructor(readonly firstLine: string) {
    super(`domain exists already: ${firstLine}`);
  }
}

/** The program ran and failed; `firstLine` is its first line of error output. */
export class ToolstackFailedError extends ToolstackError {
  override readonly code = 'ToolstackFailed';
  constructor(readonly argv: readonly string[], readonly status: number | null, readonly firstLine: string) {
    super(`${argv.join(' ')} failed (exit status ${status ?? 'none'}): ${firstLine || '(no error output)'}`);
  }
}

/** The program ran past its time and was killed. */
export class ToolstackTimeoutError extends ToolstackError {
  override readonly code = 'ToolstackTimeout';
  constructor(readonly argv: readonly string[], readonly timeoutMs: number) {
    super(`${argv.join(' ')} did not finish within ${timeoutMs} ms and was killed`);
  }
}

/** The program is not there (or cannot be run). */
export class ToolstackMissingError extends ToolstackError {
  override readonly code = 'ToolstackMissing';
  constructor(readonly command: string, reason: string) {
    super(`toolstack ${command} is not available: ${reason}`);
  }
}

/** Output that none of the known formats describes (list, info, domid). */
export class ListParseError extends ToolstackError {
  override readonly code = 'ListParse';
  constructor(what: string, readonly line: number, readonly text: string) {
    super(`cannot read ${what} output, line ${line}: ${JSON.stringify(text.slice(0, 200))}`);
  }
}

/** A value that may not go into a guest config file or onto a command line. */
export class ConfigValueError extends ToolstackError {
  override readonly code = 'ConfigValue';
  constructor(readonly field: string, reason: string) {
    super(`${field}: ${reason}`);
  }
}

/**
 * The directory guest configs are written to has no room (ENOSPC) or its
 * owner's quota is spent (EDQUOT). The config was not written: no file,
 * temporary or not, was left there, and an older config keeps its content.
 */
export class NoSpaceError extends ToolstackError {
  override readonly code = 'NoSpace';
  constructor(readonly directory: string, readonly errno: 'ENOSPC' | 'EDQUOT', options?: { cause?: unknown }) {
    super(`no space left in ${directory} (${errno === 'EDQUOT' ? 'disk quota exceeded' : 'file system full'}): the guest config was not written; free some space there and call again`);
    if (options) this.cause = options.cause;
  }
}
