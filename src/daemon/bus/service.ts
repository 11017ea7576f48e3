// Puts the model on the bus: resolves object paths to objects (machined's
// object_find: no per-domain export, so a thousand domains cost nothing
// until asked for), and turns the model's events into signals.
import type dbus from 'dbus-next';
import type { Logger } from 'pino';
import type { Authorizer } from './authz.js';
import { Binding, type BoundObject, type Facet } from './binding.js';
import { loadInterface } from './contract.js';
import { type DomainTarget, domainInterface } from './domain.js';
import { errorMapper } from './errors.js';
import { managerInterface } from './manager.js';
import { DOMAIN_PREFIX, MANAGER_PATH, domainPath, labelEscape, labelUnescape } from './paths.js';
import type { Domain } from '../model/domain.js';
import type { DomainManager } from '../model/manager.js';

export interface HostCheck {
  readonly id: string;
  readonly status: 'ok' | 'warning' | 'error';
  readonly message: string;
}

/** What the bus objects need from the daemon. */
export interface Service {
  readonly model: DomainManager;
  readonly authz: Authorizer;
  readonly toolstack: string; // 'xm' or 'xl'
  readonly version: string;
  forwarding(): Promise<boolean>;
  checkHost(): Promise<HostCheck[]>;
}

const DOMAIN_IFACE = 'org.domud.Domud1.Domain';
const STANDARD = ['org.freedesktop.DBus.Peer', 'org.freedesktop.DBus.Introspectable', 'org.freedesktop.DBus.Properties'];

export async function publish(bus: dbus.MessageBus, service: Service, log: Logger): Promise<Binding> {
  const manager = managerInterface(await loadInterface('org.domud.Domud1.Manager'));
  const domain = domainInterface(await loadInterface('org.domud.Domud1.Domain'));
  const managerFacet: Facet = { impl: manager, target: service };
  const domainFacet = (d: Domain): Facet => ({ impl: domain, target: { service, domain: d } satisfies DomainTarget });
  const domainObject = (d: Domain): BoundObject => ({ facets: [domainFacet(d)], children: () => [] });
  const ancestors = new Map<string, string>([
    ['/', 'org'],
    ['/org', 'domud'],
    ['/org/domud', 'Domud1'],
  ]);

  const resolve = (path: string): BoundObject | null => {
    const child = ancestors.get(path);
    if (child !== undefined) return { facets: [], children: () => [child] };
    if (path === MANAGER_PATH) {
      return {
        facets: [managerFacet],
        children: () => ['domain'],
        managed: () => service.model.list().map((d) => [domainPath(d.name), domainObject(d)]),
      };
    }
    if (path === DOMAIN_PREFIX) return { facets: [], children: () => service.model.summaries().map((d) => labelEscape(d.name)) };
    if (path.startsWith(`${DOMAIN_PREFIX}/`)) {
      const name = labelUnescape(path.slice(DOMAIN_PREFIX.length + 1));
      const d = name === null ? undefined : service.model.find(name);
      return d ? domainObject(d) : null;
    }
    return null;
  };

  const binding = new Binding(bus, { root: MANAGER_PATH, resolve, mapError: errorMapper(log), log });
  binding.install();

  const m = service.model;
  const send = (what: string, fn: () => unknown) => {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((err) => log.error({ err }, `${what} signal not sent`));
    } catch (err) {
      log.error({ err }, `${what} signal not sent`);
    }
  };
  // Signals leave after the reply of the call that caused them, in the order
  // they were raised: the caller waits for its answer, not for the
  // marshalling of every announcement (about 1 ms for a create's four). The
  // reply goes out in the same turn of the event loop, so the object a
  // DomainNew names is already there to be asked for.
  const outbox: Array<[string, () => unknown]> = [];
  const flush = () => {
    for (const [what, fn] of outbox.splice(0)) send(what, fn);
  };
  const announce = (what: string, fn: () => unknown) => {
    if (outbox.push([what, fn]) === 1) setImmediate(flush);
  };
  m.on('domainNew', (d) =>
    announce('DomainNew', () => {
      binding.signal(MANAGER_PATH, manager.spec, 'DomainNew', [d.name, domainPath(d.name)]);
      return binding.interfacesAdded(MANAGER_PATH, domainPath(d.name), domainObject(d));
    }),
  );
  m.on('domainRemoved', (name) =>
    announce('DomainRemoved', () => {
      binding.signal(MANAGER_PATH, manager.spec, 'DomainRemoved', [name, domainPath(name)]);
      binding.interfacesRemoved(MANAGER_PATH, domainPath(name), [DOMAIN_IFACE, ...STANDARD]);
    }),
  );
  m.on('leaseAcquired', (address, name) => announce('LeaseAcquired', () => binding.signal(MANAGER_PATH, manager.spec, 'LeaseAcquired', [address, name])));
  m.on('leaseReleased', (address, name) => announce('LeaseReleased', () => binding.signal(MANAGER_PATH, manager.spec, 'LeaseReleased', [address, name])));
  m.on('leasesInUse', () => announce('PropertiesChanged', () => binding.propertiesChanged(MANAGER_PATH, managerFacet, ['LeasesInUse'])));
  m.on('domainChanged', (d, change) =>
    announce('PropertiesChanged', () => {
      const names: string[] = [];
      if (change.domainId !== undefined) names.push('DomainId');
      if (change.state !== undefined) names.push('State');
      if (change.vif !== undefined) names.push('Vif');
      binding.propertiesChanged(domainPath(d.name), domainFacet(d), names);
    }),
  );
  return binding;
}
