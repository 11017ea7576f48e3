// Errors of src/net. Each class has a stable `code` the daemon can map;
// IpCommandError keeps the argument vector and what `ip` said on stderr so
// that a log line shows exactly which command failed and why.

import type { Change } from './types.js';

export abstract class NetError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The Routes options are unusable (bad range, dom0 outside it, bad netns name). */
export class NetConfigError extends NetError {
  readonly code = 'NetConfigInvalid';
  constructor(
    readonly field: 'range' | 'dom0' | 'netns' | 'ip',
    readonly value: string,
    reason: string,
  ) {
    super(`invalid ${field} ${JSON.stringify(value)}: ${reason}`);
  }
}

/** A vif route (vif name, guest address) was refused before anything ran. */
export class InvalidBindingError extends NetError {
  readonly code = 'InvalidBinding';
  constructor(
    readonly field: 'vif' | 'address' | 'bindings',
    readonly value: unknown,
    reason: string,
  ) {
    super(`invalid ${field} ${JSON.stringify(value)}: ${reason}`);
  }
}

/** `ip` could not be started at all (not installed, not executable). */
export class IpMissingError extends NetError {
  readonly code = 'IpMissing';
  constructor(
    readonly command: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot run ${command}: is iproute2 installed?`, options);
  }
}

/** `ip` ran and failed; `stderr` is its own message, e.g. `RTNETLINK answers: No such process`. */
export class IpCommandError extends NetError {
  readonly code = 'IpCommandFailed';
  constructor(
    readonly argv: readonly string[],
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} failed (${status === null ? 'killed' : `status ${status}`}): ${stderr.trim() || 'no message'}`);
  }
}

/** `ip -j` printed something that is not the JSON it documents. */
export class IpOutputError extends NetError {
  readonly code = 'IpOutputInvalid';
  constructor(
    readonly argv: readonly string[],
    reason: string,
  ) {
    super(`${argv.join(' ')}: unexpected output: ${reason}`);
  }
}

/** The vif a vif route names does not exist (not created yet, or already gone). */
export class VifNotFoundError extends NetError {
  readonly code = 'VifNotFound';
  constructor(
    readonly vif: string,
    options?: { cause?: unknown },
  ) {
    super(`interface ${vif} does not exist`, options);
  }
}

/** Reading or writing a /proc/sys or /sys file failed (host mode, no netns). */
export class SysctlError extends NetError {
  readonly code = 'SysctlFailed';
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot access ${path}: ${(options?.cause as Error | undefined)?.message ?? 'unknown error'}`, options);
  }
}

/** reconcile() applied what it could; these changes failed. */
export class ReconcileError extends NetError {
  readonly code = 'ReconcileFailed';
  constructor(
    readonly applied: readonly Change[],
    readonly failures: ReadonlyArray<{ change: Change; error: Error }>,
  ) {
    super(
      `reconcile: ${failures.length} change(s) failed, ${applied.length} applied; first: ${failures[0]?.error.message ?? 'none'}`,
    );
  }
}
