// domuctl's D-Bus client: dbus-next's MessageBus, through its public API
// only, with what a command-line client needs on top of it: a timeout on
// every call (dbus-next has none, and dbus-daemon's default is never),
// error replies as their D-Bus names, local failures named like them, and
// one report when the connection is lost.
import dbus from 'dbus-next';

/** Header flag ALLOW_INTERACTIVE_AUTHORIZATION: polkit may ask for a password (dbus-next names only the first two flags). */
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
const HELLO_TIMEOUT_MS = 25_000;

/** An error reply, or a local failure named like one. */
export class BusError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
    /** Raised here, not sent by a peer: the name is ours, not worth printing. */
    readonly local = false,
  ) {
    super(message);
  }
}

/** A method call; arguments come with their signature or not at all. */
export type Call = {
  readonly destination?: string;
  readonly path: string;
  readonly iface: string;
  readonly member: string;
  /** Let polkit ask the user (sets the header flag). */
  readonly interactive?: boolean;
  readonly timeoutMs: number;
} & ({ readonly signature?: undefined; readonly body?: undefined } | { readonly signature: string; readonly body: readonly unknown[] });

export interface Signal {
  readonly path: string;
  readonly iface: string;
  readonly member: string;
  readonly body: readonly unknown[];
}

/** What dbus-next's connection says when the bus has hung up. */
const CLOSED_STREAM = /write a message to a closed stream/;

const disconnected = (message: string) => new BusError('org.freedesktop.DBus.Error.Disconnected', message, true);

export class Bus {
  /** Our unique name on the bus, from Hello. */
  name = '';
  readonly Variant = dbus.Variant;
  private closed = false;
  private readonly failures = new Set<(e: BusError) => void>();
  /** Called once when the connection fails after it was opened. */
  onClose: (e: BusError) => void = () => undefined;
  onSignal: (s: Signal) => void = () => undefined;

  private constructor(
    private readonly bus: dbus.MessageBus,
    readonly address: string,
  ) {
    bus.on('message', (m: dbus.Message) => {
      if (m.type === dbus.MessageType.SIGNAL) this.onSignal({ path: m.path!, iface: m.interface!, member: m.member!, body: m.body });
    });
    // dbus-next reports a lost connection as an error on the next write,
    // worded for its own author; the user is told what happened instead.
    bus.on('error', (e: Error) =>
      this.fail(disconnected(CLOSED_STREAM.test(e.message) ? `the bus at ${address} closed the connection` : `cannot talk to the bus at ${address}: ${e.message}`)),
    );
  }

  /** Connects and says Hello; rejects with a Disconnected BusError when the bus cannot be reached. */
  static async open(address: string): Promise<Bus> {
    let conn: dbus.MessageBus;
    try {
      conn = dbus.sessionBus({ busAddress: address });
    } catch (e) {
      throw new BusError('org.freedesktop.DBus.Error.BadAddress', `bad bus address "${address}": ${(e as Error).message}`, true);
    }
    const bus = new Bus(conn, address);
    await bus.bounded(
      new Promise<void>((resolve) => conn.once('connect', () => resolve())),
      HELLO_TIMEOUT_MS,
      () => new BusError('org.freedesktop.DBus.Error.Timeout', `the bus at ${address} did not answer Hello`, true),
    );
    bus.name = (conn as unknown as { name: string }).name;
    return bus;
  }

  call(c: Call): Promise<unknown[]> {
    if (this.closed) return Promise.reject(disconnected(`the bus at ${this.address} is closed`));
    const msg = new dbus.Message({
      destination: c.destination ?? 'org.domud.Domud1',
      path: c.path,
      interface: c.iface,
      member: c.member,
      ...(c.signature ? { signature: c.signature, body: [...c.body] } : {}),
      flags: c.interactive ? ALLOW_INTERACTIVE_AUTHORIZATION : 0,
    });
    const reply = this.bus.call(msg).then(
      (r) => r?.body ?? [],
      (e: unknown) => {
        throw e instanceof dbus.DBusError ? new BusError(e.type, e.text) : e;
      },
    );
    return this.bounded(reply, c.timeoutMs, () => new BusError('org.freedesktop.DBus.Error.Timeout', `no reply to ${c.member} within ${Math.round(c.timeoutMs / 1000)} s`, true));
  }

  /** Asks the bus to route matching signals to us. */
  async addMatch(rule: string): Promise<void> {
    await this.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule], timeoutMs: 25_000 });
  }

  close(): void {
    this.closed = true;
    this.bus.disconnect();
  }

  /** `p`, or the error `late()` makes once `ms` have passed, or the connection's failure. */
  private bounded<T>(p: Promise<T>, ms: number, late: () => BusError): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let onFail: ((e: BusError) => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(late()), ms);
      onFail = reject;
      this.failures.add(onFail);
    });
    return Promise.race([p, stop]).finally(() => {
      clearTimeout(timer);
      this.failures.delete(onFail!);
    });
  }

  private fail(e: BusError): void {
    if (this.closed) return;
    this.closed = true;
    for (const reject of this.failures) reject(e);
    this.failures.clear();
    this.onClose(e);
  }
}

/** Unwraps a{sv} into plain values (bigints of 't' become numbers: µs since the epoch fit). */
export function unwrap(dict: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(dict as Record<string, dbus.Variant>)) out[k] = plain(v.value);
  return out;
}

export function plain(v: unknown): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}
