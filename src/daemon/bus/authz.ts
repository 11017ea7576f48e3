// Who may change domains: uid 0; members of the configured group; else
// whoever polkit authorizes for org.domud.domud1.manage-domains. The caller
// is the message's sender as the bus daemon knows it, never an argument.
// This is machined's flow (bus_verify_polkit_async), written for dbus-next.
import { readFileSync } from 'node:fs';
import dbus from 'dbus-next';
import type { Logger } from 'pino';
import type { CallContext } from './dispatch.js';
import { withDeadline } from '../deadline.js';

const { Message, Variant } = dbus;

export const POLKIT_ACTION = 'org.domud.domud1.manage-domains';

export class AccessDeniedError extends Error {
  readonly code = 'AccessDenied';
}

export class InteractiveAuthorizationRequiredError extends Error {
  readonly code = 'InteractiveAuthorizationRequired';
}

export interface AuthzOptions {
  readonly bus: dbus.MessageBus;
  readonly group: string; // '' for none
  readonly polkit: boolean;
  readonly log: Logger;
  /** How long polkit may take; an interactive check waits for a person. */
  readonly timeoutMs?: number;
  readonly interactiveTimeoutMs?: number;
  readonly groupFile?: string;
}

interface Credentials {
  uid: number;
  gids: number[] | null; // null when the bus does not say
}

/** Callers whose credentials are kept; more than this and the oldest go. */
const CREDENTIALS_KEPT = 256;

export class Authorizer {
  private readonly gid: number | null;
  // A unique bus name is never reused, and a connection's uid and groups are
  // fixed when it authenticates: what the bus said once stays true.
  private readonly known = new Map<string, Credentials>();

  constructor(private readonly o: AuthzOptions) {
    this.gid = o.group === '' ? null : lookupGroup(o.group, o.groupFile ?? '/etc/group');
    if (o.group !== '' && this.gid === null) o.log.warn({ group: o.group }, 'the configured Group does not exist; nobody is allowed through it');
  }

  async check(ctx: CallContext, details: Record<string, string>): Promise<void> {
    const who = await this.credentials(ctx.sender);
    if (who.uid === 0) return;
    if (this.gid !== null && who.gids?.includes(this.gid)) return;
    if (!this.o.polkit) {
      throw new AccessDeniedError(`uid ${who.uid} may not change domains: only root${this.gid === null ? '' : ` and members of group ${this.o.group}`} may`);
    }
    let result: [boolean, boolean, unknown];
    try {
      const reply = await call(
        this.o.bus,
        new Message({
          destination: 'org.freedesktop.PolicyKit1',
          path: '/org/freedesktop/PolicyKit1/Authority',
          interface: 'org.freedesktop.PolicyKit1.Authority',
          member: 'CheckAuthorization',
          signature: '(sa{sv})sa{ss}us',
          body: [['system-bus-name', { name: new Variant('s', ctx.sender) }], POLKIT_ACTION, details, ctx.interactive ? 1 : 0, ''],
        }),
        ctx.interactive ? (this.o.interactiveTimeoutMs ?? 300_000) : (this.o.timeoutMs ?? 25_000),
      );
      result = reply.body[0] as [boolean, boolean, unknown];
    } catch (e) {
      // No polkitd on the bus (or it failed) means deny, as machined does.
      this.o.log.warn({ err: e, uid: who.uid }, 'polkit did not answer; denying');
      throw new AccessDeniedError(`uid ${who.uid} may not change domains, and polkit could not be asked: ${(e as Error).message}`);
    }
    const [authorized, challenge] = result;
    if (authorized) return;
    if (challenge && !ctx.interactive) {
      throw new InteractiveAuthorizationRequiredError(
        'Authentication is required to manage domains; call again allowing interactive authorization (e.g. busctl --allow-interactive-authorization=yes)',
      );
    }
    throw new AccessDeniedError(`uid ${who.uid} is not authorized by polkit to manage domains (${POLKIT_ACTION})`);
  }

  /** The caller's uid, as the bus says (a job's StartedByUID). */
  async uid(ctx: CallContext): Promise<number> {
    return (await this.credentials(ctx.sender)).uid;
  }

  private async credentials(sender: string): Promise<Credentials> {
    const kept = this.known.get(sender);
    if (kept !== undefined) return kept;
    const who = await this.ask(sender);
    if (this.known.size >= CREDENTIALS_KEPT) this.known.delete(this.known.keys().next().value!);
    this.known.set(sender, who);
    return who;
  }

  private async ask(sender: string): Promise<Credentials> {
    const reply = await call(
      this.o.bus,
      new Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'GetConnectionCredentials',
        signature: 's',
        body: [sender],
      }),
      this.o.timeoutMs ?? 25_000,
    );
    const creds = reply.body[0] as Record<string, dbus.Variant>;
    const uid = creds.UnixUserID?.value as number | undefined;
    if (uid === undefined) throw new AccessDeniedError('the bus did not say who the caller is');
    const gids = (creds.UnixGroupIDs?.value as number[] | undefined) ?? null;
    return { uid, gids };
  }
}

/** bus.call has no timeout of its own (and dbus-daemon's default is never). */
export function call(bus: dbus.MessageBus, msg: dbus.Message, timeoutMs: number): Promise<dbus.Message> {
  return withDeadline(bus.call(msg) as Promise<dbus.Message>, timeoutMs, () => {
    throw new Error(`${msg.destination} did not answer ${msg.member} within ${timeoutMs} ms`);
  });
}

export function lookupGroup(name: string, file: string): number | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  }
  return null;
}
