// Every allocator failure is one of these classes. `code` is stable: the
// daemon maps it to a D-Bus error name, so renaming one is an API change.

export abstract class IpamError extends Error {
  abstract readonly code: string;
  override get name(): string {
    return this.constructor.name;
  }
}

/** Why a CIDR was refused. */
export type InvalidRangeReason = 'syntax' | 'ipv6' | 'prefix';

export class InvalidRangeError extends IpamError {
  readonly code = 'InvalidRange';
  constructor(
    readonly range: string,
    readonly reason: InvalidRangeReason,
    detail: string,
  ) {
    super(`invalid range ${JSON.stringify(range)}: ${detail}`);
  }
}

/** A caller handed the allocator something malformed (empty name, non-JSON attrs, ...). */
export class InvalidArgumentError extends IpamError {
  readonly code = 'InvalidArgument';
}

export class PoolExhaustedError extends IpamError {
  readonly code = 'PoolExhausted';
  constructor(readonly range: string) {
    super(`no free address is left in ${range}`);
  }
}

/** Why a requested address cannot be leased. */
export type UnavailableReason = 'outside' | 'network' | 'broadcast' | 'dom0' | 'taken';

const WHY: Record<UnavailableReason, string> = {
  outside: 'is outside the range',
  network: 'is the network address of the range',
  broadcast: 'is the broadcast address of the range',
  dom0: "is dom0's address",
  taken: 'is leased',
};

export class AddressUnavailableError extends IpamError {
  readonly code = 'AddressUnavailable';
  constructor(
    readonly address: string,
    readonly reason: UnavailableReason,
    range: string,
    holder?: string,
  ) {
    super(`address ${address} ${WHY[reason]}${holder === undefined ? '' : ` to ${JSON.stringify(holder)}`} (${range})`);
  }
}

export class LeaseExistsError extends IpamError {
  readonly code = 'LeaseExists';
  constructor(
    readonly leaseName: string,
    readonly address: string,
  ) {
    super(`${JSON.stringify(leaseName)} already holds a lease (${address})`);
  }
}

export class NoSuchLeaseError extends IpamError {
  readonly code = 'NoSuchLease';
  constructor(readonly leaseName: string) {
    super(`${JSON.stringify(leaseName)} holds no lease`);
  }
}

/** The database cannot be used: not domud's, corrupt, read-only, newer, unreadable. */
export class DatabaseError extends IpamError {
  readonly code = 'Database';
  constructor(
    readonly path: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`lease database ${path}: ${problem}`, options);
  }
}

/**
 * The file system holding the lease database is full (SQLite's SQLITE_FULL).
 * SQLite has rolled the change back, so the database is as it was before.
 * A spent quota reaches SQLite as a plain write error (SQLITE_IOERR_WRITE,
 * without the errno), which cannot be told from a failing disk: only a full
 * file system is this error.
 */
export class NoSpaceError extends IpamError {
  readonly code = 'NoSpace';
  constructor(
    readonly directory: string,
    options?: { cause?: unknown },
  ) {
    super(`no space left in ${directory}: the lease database cannot grow, so nothing was changed; free some space there and call again`, options);
  }
}
