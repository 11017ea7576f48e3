// A small D-Bus client: connect, Hello, method calls with a timeout,
// signals. It uses only dbus-next's wire pieces (connection: handshake and
// marshalling; Message; Variant), loaded on first use. dbus-next's index
// also loads its service and proxy machinery and xml2js, which costs about
// twice as much at start-up (bench/domuctl.ts measures both) and which a
// client of one known interface does not need.
import type { Connection, WireMessage } from 'dbus-next/lib/connection.js';
import type { Variant as VariantT } from 'dbus-next/lib/variant.js';

const METHOD_RETURN = 2;
const ERROR = 3;
const SIGNAL = 4;
/** Header flag ALLOW_INTERACTIVE_AUTHORIZATION: polkit may ask for a password. */
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;

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

type Pending = { resolve: (body: unknown[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class Bus {
  /** Our unique name on the bus, from Hello. */
  name = '';
  private serial = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  /** Called once when the connection ends or fails after it was opened. */
  onClose: (e: BusError) => void = () => undefined;
  onSignal: (s: Signal) => void = () => undefined;

  private constructor(
    private readonly conn: Connection,
    private readonly Message: typeof import('dbus-next/lib/message-type.js').Message,
    readonly Variant: typeof VariantT,
    readonly address: string,
  ) {
    conn.on('message', (m: WireMessage) => this.dispatch(m));
    conn.on('error', (e: Error) => this.fail(new BusError('org.freedesktop.DBus.Error.Disconnected', `cannot talk to the bus at ${address}: ${e.message}`, true)));
    conn.on('end', () => this.fail(new BusError('org.freedesktop.DBus.Error.Disconnected', `the bus at ${address} closed the connection`, true)));
  }

  /** Connects and says Hello; rejects with a Disconnected BusError when the bus cannot be reached. */
  static async open(address: string): Promise<Bus> {
    const [{ default: createConnection }, { Message }, { Variant }] = await Promise.all([
      import('dbus-next/lib/connection.js'),
      import('dbus-next/lib/message-type.js'),
      import('dbus-next/lib/variant.js'),
    ]);
    let conn: Connection;
    try {
      conn = createConnection({ busAddress: address });
    } catch (e) {
      throw new BusError('org.freedesktop.DBus.Error.BadAddress', `bad bus address "${address}": ${(e as Error).message}`, true);
    }
    const bus = new Bus(conn, Message, Variant, address);
    [bus.name] = (await bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus', member: 'Hello', timeoutMs: 25_000 })) as [string];
    return bus;
  }

  call(c: Call): Promise<unknown[]> {
    if (this.closed) return Promise.reject(new BusError('org.freedesktop.DBus.Error.Disconnected', `the bus at ${this.address} is closed`, true));
    const msg = new this.Message({
      destination: c.destination ?? 'org.domud.Domud1',
      path: c.path,
      interface: c.iface,
      member: c.member,
      ...(c.signature ? { signature: c.signature, body: [...c.body] } : {}),
      flags: c.interactive ? ALLOW_INTERACTIVE_AUTHORIZATION : 0,
    });
    const serial = this.serial++;
    msg.serial = serial;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(serial);
        reject(new BusError('org.freedesktop.DBus.Error.Timeout', `no reply to ${c.member} within ${Math.round(c.timeoutMs / 1000)} s`, true));
      }, c.timeoutMs);
      this.pending.set(serial, { resolve, reject, timer });
      this.conn.message(msg as unknown as WireMessage);
    });
  }

  /** Asks the bus to route matching signals to us. */
  async addMatch(rule: string): Promise<void> {
    await this.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule], timeoutMs: 25_000 });
  }

  close(): void {
    this.closed = true;
    this.conn.stream.destroy();
  }

  private dispatch(m: WireMessage): void {
    if (m.type === SIGNAL) {
      this.onSignal({ path: m.path!, iface: m.interface!, member: m.member!, body: m.body });
      return;
    }
    if (m.type !== METHOD_RETURN && m.type !== ERROR) return;
    const p = this.pending.get(m.replySerial!);
    if (!p) return;
    this.pending.delete(m.replySerial!);
    clearTimeout(p.timer);
    if (m.type === ERROR) p.reject(new BusError(m.errorName!, typeof m.body[0] === 'string' ? m.body[0] : ''));
    else p.resolve(m.body);
  }

  private fail(e: BusError): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
    this.onClose(e);
  }
}

/** Unwraps a{sv} into plain values (bigints of 't' become numbers: µs since the epoch fit). */
export function unwrap(dict: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(dict as Record<string, VariantT>)) out[k] = plain(v.value);
  return out;
}

export function plain(v: unknown): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}
