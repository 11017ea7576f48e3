// domud's own D-Bus dispatch for every path under /org/domud/Domud1 (a
// method handler, as libvirt-dbus's gdbus.c does), because dbus-next's own
// Interface class hides the caller, answers a wrong signature with
// UnknownMethod, leaks stack traces and cannot serve our introspection XML.
// It answers Introspectable, Peer, Properties and ObjectManager itself, and
// hands each method of domud's interfaces to the handler table that
// manager-object.ts or domain-object.ts gives for it.
import { readFileSync } from 'node:fs';
import dbus from 'dbus-next';
import type { Logger } from 'pino';
import type { InterfaceSpec } from './contract.js';
import { settleWithin } from '../deadline.js';

const { Message, Variant, MessageType } = dbus;
type Msg = dbus.Message;

/** Header flags (dbus-next names only the first two). */
const NO_REPLY_EXPECTED = 0x1;
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;

const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';
const PEER = 'org.freedesktop.DBus.Peer';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const OBJECT_MANAGER = 'org.freedesktop.DBus.ObjectManager';
const E = 'org.freedesktop.DBus.Error.';

/** Who called, as the bus says: the only identity domud trusts. */
export interface CallContext {
  readonly sender: string;
  readonly interactive: boolean;
}

export type MethodHandler<T> = (target: T, ctx: CallContext, args: any[]) => Promise<unknown[]> | unknown[];
export type PropertyGetter<T> = (target: T) => unknown;

/** A method as its handler table declares it: its signatures, as sd-bus's vtable does, and its handler. */
export interface Method<T> {
  readonly in: string;
  readonly out: string;
  readonly call: MethodHandler<T>;
}

export interface Property<T> {
  readonly type: string;
  readonly get: PropertyGetter<T>;
}

/**
 * One D-Bus interface: the contract's element (`spec`) and the handler
 * table that implements it. conformance.ts checks at start-up that the two
 * name the same members with the same signatures.
 */
export interface InterfaceImpl<T> {
  readonly spec: InterfaceSpec;
  readonly methods: Readonly<Record<string, Method<T>>>;
  readonly properties: Readonly<Record<string, Property<T>>>;
  /** The signals the daemon sends on this interface, with their signatures. */
  readonly signals: Readonly<Record<string, string>>;
}

export interface Facet {
  readonly impl: InterfaceImpl<any>;
  readonly target: unknown;
}

export interface BoundObject {
  readonly facets: readonly Facet[];
  readonly children: () => string[];
  /** Set on the object that implements org.freedesktop.DBus.ObjectManager. */
  readonly managed?: () => Array<[string, BoundObject]>;
}

export interface DispatcherOptions {
  readonly root: string; // every path below (and the ancestors of) this is ours
  readonly resolve: (path: string) => BoundObject | null;
  readonly mapError: (e: unknown) => { name: string; message: string };
  readonly log: Logger;
}

/** A D-Bus error to answer with, for protocol-level problems. */
export class BusError extends Error {
  constructor(
    readonly busName: string,
    message: string,
  ) {
    super(message);
  }
}

const STANDARD_XML = {
  [PEER]: ` <interface name="${PEER}">
  <method name="Ping"/>
  <method name="GetMachineId">
   <arg type="s" name="machine_uuid" direction="out"/>
  </method>
 </interface>`,
  [INTROSPECTABLE]: ` <interface name="${INTROSPECTABLE}">
  <method name="Introspect">
   <arg name="xml_data" type="s" direction="out"/>
  </method>
 </interface>`,
  [PROPERTIES]: ` <interface name="${PROPERTIES}">
  <method name="Get">
   <arg name="interface_name" type="s" direction="in"/>
   <arg name="property_name" type="s" direction="in"/>
   <arg name="value" type="v" direction="out"/>
  </method>
  <method name="GetAll">
   <arg name="interface_name" type="s" direction="in"/>
   <arg name="props" type="a{sv}" direction="out"/>
  </method>
  <method name="Set">
   <arg name="interface_name" type="s" direction="in"/>
   <arg name="property_name" type="s" direction="in"/>
   <arg name="value" type="v" direction="in"/>
  </method>
  <signal name="PropertiesChanged">
   <arg type="s" name="interface_name"/>
   <arg type="a{sv}" name="changed_properties"/>
   <arg type="as" name="invalidated_properties"/>
  </signal>
 </interface>`,
  [OBJECT_MANAGER]: ` <interface name="${OBJECT_MANAGER}">
  <method name="GetManagedObjects">
   <arg type="a{oa{sa{sv}}}" name="object_paths_interfaces_and_properties" direction="out"/>
  </method>
  <signal name="InterfacesAdded">
   <arg type="o" name="object_path"/>
   <arg type="a{sa{sv}}" name="interfaces_and_properties"/>
  </signal>
  <signal name="InterfacesRemoved">
   <arg type="o" name="object_path"/>
   <arg type="as" name="interfaces"/>
  </signal>
 </interface>`,
};

const DOCTYPE =
  '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n';

export class Dispatcher {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly bus: dbus.MessageBus,
    private readonly opts: DispatcherOptions,
  ) {}

  install(): void {
    this.bus.addMethodHandler((msg: Msg) => this.onMessage(msg));
  }

  /** Waits (bounded) for the replies still owed. */
  async drain(graceMs: number): Promise<void> {
    await settleWithin(this.pending, graceMs);
  }

  signal(path: string, impl: InterfaceImpl<any>, name: string, body: unknown[]): void {
    const sig = impl.signals[name];
    if (sig === undefined) throw new Error(`signal ${impl.spec.name}.${name} is not in its handler table`);
    this.bus.send(Message.newSignal(path, impl.spec.name, name, sig, body));
  }

  /** PropertiesChanged for the properties the contract says emit it. */
  propertiesChanged(path: string, facet: Facet, names: readonly string[]): void {
    const changed: Record<string, dbus.Variant> = {};
    const invalidated: string[] = [];
    for (const n of names) {
      const p = facet.impl.spec.properties.get(n);
      if (!p) throw new Error(`property ${facet.impl.spec.name}.${n} is not in the contract`);
      if (p.emits === 'true') changed[n] = readNow(facet, n, p.type);
      else if (p.emits === 'invalidates') invalidated.push(n);
    }
    if (Object.keys(changed).length === 0 && invalidated.length === 0) return;
    this.bus.send(Message.newSignal(path, PROPERTIES, 'PropertiesChanged', 'sa{sv}as', [facet.impl.spec.name, changed, invalidated]));
  }

  /**
   * Sent at once, with the properties as they are now: a signal raised
   * after it (a PropertiesChanged, an InterfacesRemoved) must not overtake
   * it, or a client would keep a stale or a removed object.
   */
  interfacesAdded(managerPath: string, path: string, obj: BoundObject): void {
    const ifaces: Record<string, Record<string, dbus.Variant>> = {};
    for (const f of obj.facets) {
      const props: Record<string, dbus.Variant> = {};
      for (const [name, p] of f.impl.spec.properties) props[name] = readNow(f, name, p.type);
      ifaces[f.impl.spec.name] = props;
    }
    this.bus.send(Message.newSignal(managerPath, OBJECT_MANAGER, 'InterfacesAdded', 'oa{sa{sv}}', [path, { ...ifaces, ...STANDARD_PROPERTIES }]));
  }

  /** `iface`'s object is gone: it and the standard interfaces, as InterfacesAdded listed them. */
  interfacesRemoved(managerPath: string, path: string, iface: string): void {
    this.bus.send(Message.newSignal(managerPath, OBJECT_MANAGER, 'InterfacesRemoved', 'oas', [path, [iface, ...Object.keys(STANDARD_PROPERTIES)]]));
  }

  // ---- dispatch ----

  private ours(path: string): boolean {
    const root = this.opts.root;
    return path === root || path.startsWith(`${root}/`) || root.startsWith(path === '/' ? '/' : `${path}/`);
  }

  private onMessage(msg: Msg): boolean {
    if (msg.type !== MessageType.METHOD_CALL || !msg.path || !this.ours(msg.path)) return false;
    const began = performance.now();
    const p = this.dispatch(msg)
      .then(
        (body) => this.reply(msg, () => Message.newMethodReturn(msg, body.signature, body.values)),
        (e) => this.replyError(msg, e),
      )
      // From the call's arrival to its answer's sending: what the caller
      // waited beyond the bus, beside the model's own timing lines.
      .finally(() => this.opts.log.debug({ member: msg.member, path: msg.path, ms: Math.round((performance.now() - began) * 100) / 100 }, 'call answered'));
    this.pending.add(p);
    p.finally(() => this.pending.delete(p));
    return true;
  }

  private reply(msg: Msg, make: () => Msg): void {
    if ((msg.flags & NO_REPLY_EXPECTED) !== 0) return;
    try {
      this.bus.send(make());
    } catch (e) {
      // A value that does not marshal is our bug; say so once, without the stack.
      this.opts.log.error({ err: e, member: msg.member, path: msg.path }, 'reply could not be sent');
      this.replyError(msg, e);
    }
  }

  private replyError(msg: Msg, e: unknown): void {
    const { name, message } = e instanceof BusError ? { name: e.busName, message: e.message } : this.opts.mapError(e);
    if ((msg.flags & NO_REPLY_EXPECTED) !== 0) return;
    try {
      this.bus.send(Message.newError(msg as unknown as string, name, message));
    } catch (err) {
      this.opts.log.error({ err }, 'error reply could not be sent');
    }
  }

  private async dispatch(msg: Msg): Promise<{ signature: string; values: unknown[] }> {
    const path = msg.path!;
    const obj = this.opts.resolve(path);
    if (!obj) throw new BusError(`${E}UnknownObject`, `No object at path ${path}`);
    const iface = msg.interface ?? '';
    const member = msg.member ?? '';
    const sig = msg.signature ?? '';
    const expect = (want: string) => {
      if (sig !== want) {
        throw new BusError(`${E}InvalidArgs`, `${iface || 'Method'}.${member} takes arguments (${want}), not (${sig})`);
      }
    };
    if (iface === INTROSPECTABLE && member === 'Introspect') {
      expect('');
      return { signature: 's', values: [this.introspect(obj)] };
    }
    if (iface === PEER) {
      if (member === 'Ping') return expect(''), { signature: '', values: [] };
      if (member === 'GetMachineId') return expect(''), { signature: 's', values: [machineId()] };
    }
    if (iface === PROPERTIES) return this.properties(obj, member, sig, msg.body);
    if (iface === OBJECT_MANAGER && obj.managed) {
      if (member === 'GetManagedObjects') {
        expect('');
        const out: Record<string, unknown> = {};
        for (const [p, o] of obj.managed()) out[p] = await this.allProperties(o);
        return { signature: 'a{oa{sa{sv}}}', values: [out] };
      }
    }
    const facet = obj.facets.find((f) => (iface === '' ? f.impl.spec.methods.has(member) : f.impl.spec.name === iface));
    if (!facet) {
      if (iface === '' || [INTROSPECTABLE, PEER, OBJECT_MANAGER].includes(iface)) {
        throw new BusError(`${E}UnknownMethod`, `No method ${member} on ${path}`);
      }
      throw new BusError(`${E}UnknownInterface`, `Object ${path} has no interface ${iface}`);
    }
    const m = facet.impl.spec.methods.get(member);
    const handler = facet.impl.methods[member];
    if (!m || !handler) throw new BusError(`${E}UnknownMethod`, `Interface ${facet.impl.spec.name} has no method ${member}`);
    expect(m.in);
    const ctx: CallContext = { sender: msg.sender ?? '', interactive: (msg.flags & ALLOW_INTERACTIVE_AUTHORIZATION) !== 0 };
    const values = await handler.call(facet.target, ctx, msg.body);
    return { signature: m.out, values };
  }

  private async properties(obj: BoundObject, member: string, sig: string, body: any[]): Promise<{ signature: string; values: unknown[] }> {
    const facetOf = (name: string) => {
      const f = obj.facets.find((x) => x.impl.spec.name === name);
      if (!f && !(name in STANDARD_XML)) throw new BusError(`${E}UnknownInterface`, `No interface ${name} here`);
      return f;
    };
    if (member === 'Get' && sig === 'ss') {
      const [ifaceName, prop] = body as [string, string];
      const f = facetOf(ifaceName);
      const p = f?.impl.spec.properties.get(prop);
      if (!f || !p) throw new BusError(`${E}UnknownProperty`, `No property ${prop} on ${ifaceName}`);
      return { signature: 'v', values: [new Variant(p.type, await f.impl.properties[prop]!.get(f.target))] };
    }
    if (member === 'GetAll' && sig === 's') {
      const [ifaceName] = body as [string];
      const f = facetOf(ifaceName);
      return { signature: 'a{sv}', values: [f ? await this.facetProperties(f) : {}] };
    }
    if (member === 'Set' && sig === 'ssv') {
      const [ifaceName, prop] = body as [string, string];
      const f = facetOf(ifaceName);
      if (!f || !f.impl.spec.properties.has(prop)) throw new BusError(`${E}UnknownProperty`, `No property ${prop} on ${ifaceName}`);
      throw new BusError(`${E}PropertyReadOnly`, `Property ${prop} is read-only; change a domain through its methods`);
    }
    if (member === 'Get' || member === 'GetAll' || member === 'Set') {
      const want = { Get: 'ss', GetAll: 's', Set: 'ssv' }[member];
      throw new BusError(`${E}InvalidArgs`, `${PROPERTIES}.${member} takes arguments (${want}), not (${sig})`);
    }
    throw new BusError(`${E}UnknownMethod`, `No method ${member} on ${PROPERTIES}`);
  }

  private async facetProperties(f: Facet): Promise<Record<string, dbus.Variant>> {
    const out: Record<string, dbus.Variant> = {};
    for (const [name, p] of f.impl.spec.properties) out[name] = new Variant(p.type, await f.impl.properties[name]!.get(f.target));
    return out;
  }

  private async allProperties(obj: BoundObject): Promise<Record<string, Record<string, dbus.Variant>>> {
    const out: Record<string, Record<string, dbus.Variant>> = {};
    for (const f of obj.facets) out[f.impl.spec.name] = await this.facetProperties(f);
    return { ...out, ...STANDARD_PROPERTIES };
  }

  private introspect(obj: BoundObject): string {
    const parts = [DOCTYPE, '<node>\n', STANDARD_XML[PEER], '\n', STANDARD_XML[INTROSPECTABLE], '\n'];
    if (obj.facets.length > 0 || obj.managed) parts.push(STANDARD_XML[PROPERTIES], '\n');
    if (obj.managed) parts.push(STANDARD_XML[OBJECT_MANAGER], '\n');
    for (const f of obj.facets) parts.push(' ', f.impl.spec.xml, '\n');
    for (const c of obj.children()) parts.push(` <node name="${c}"/>\n`);
    parts.push('</node>\n');
    return parts.join('');
  }
}

/** The standard interfaces every object has, listed (without properties) as sd-bus lists them. */
const STANDARD_PROPERTIES: Record<string, Record<string, dbus.Variant>> = { [PEER]: {}, [INTROSPECTABLE]: {}, [PROPERTIES]: {} };

/** A property for a signal, which goes out now: its getter must not be asynchronous. */
function readNow(f: Facet, name: string, type: string): dbus.Variant {
  const v = f.impl.properties[name]!.get(f.target);
  if (v instanceof Promise) throw new Error(`${f.impl.spec.name}.${name} is read asynchronously; a signal cannot carry it`);
  return new Variant(type, v);
}

let cachedMachineId: string | undefined;
function machineId(): string {
  if (cachedMachineId === undefined) {
    for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
      try {
        cachedMachineId = readFileSync(f, 'utf8').trim();
        break;
      } catch {
        /* try the next */
      }
    }
    if (!cachedMachineId) throw new BusError(`${E}Failed`, 'this machine has no machine id');
  }
  return cachedMachineId;
}
