// Puts the model on the bus: resolves object paths to objects (machined's
// object_find: no per-domain export, so a thousand domains cost nothing
// until asked for), and turns the model's events into signals.
import type dbus from 'dbus-next';
import type { Logger } from 'pino';
import { assertConforms } from './conformance.js';
import { loadInterface } from './contract.js';
import { Dispatcher, type BoundObject, type Facet } from './dispatch.js';
import { type DomainTarget, domainInterface } from './domain-object.js';
import { errorMapper } from './errors.js';
import { managerInterface } from './manager-object.js';
import { DOMAIN_PREFIX, MANAGER_PATH, domainPath, labelEscape, labelUnescape } from './paths.js';
import type { Service } from './service.js';
import type { Domain } from '../model/domain.js';

const DOMAIN_IFACE = 'org.domud.Domud1.Domain';
const STANDARD = ['org.freedesktop.DBus.Peer', 'org.freedesktop.DBus.Introspectable', 'org.freedesktop.DBus.Properties'];

export async function publish(bus: dbus.MessageBus, service: Service, log: Logger): Promise<Dispatcher> {
  const manager = managerInterface(await loadInterface('org.domud.Domud1.Manager'));
  const domain = domainInterface(await loadInterface('org.domud.Domud1.Domain'));
  assertConforms(manager);
  assertConforms(domain);
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

  const dispatcher = new Dispatcher(bus, { root: MANAGER_PATH, resolve, mapError: errorMapper(log), log });
  dispatcher.install();

  const m = service.model;
  // Signals go out as the model raises them, before the reply of the call
  // that raised them. One that cannot be sent is logged: the model's call
  // must not fail because an announcement did.
  const send = (what: string, fn: () => unknown) => {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((err) => log.error({ err }, `${what} signal not sent`));
    } catch (err) {
      log.error({ err }, `${what} signal not sent`);
    }
  };
  m.on('domainNew', (d) =>
    send('DomainNew', () => {
      dispatcher.signal(MANAGER_PATH, manager, 'DomainNew', [d.name, domainPath(d.name)]);
      dispatcher.interfacesAdded(MANAGER_PATH, domainPath(d.name), domainObject(d));
    }),
  );
  m.on('domainRemoved', (name) =>
    send('DomainRemoved', () => {
      dispatcher.signal(MANAGER_PATH, manager, 'DomainRemoved', [name, domainPath(name)]);
      dispatcher.interfacesRemoved(MANAGER_PATH, domainPath(name), [DOMAIN_IFACE, ...STANDARD]);
    }),
  );
  m.on('leaseAcquired', (address, name) => send('LeaseAcquired', () => dispatcher.signal(MANAGER_PATH, manager, 'LeaseAcquired', [address, name])));
  m.on('leaseReleased', (address, name) => send('LeaseReleased', () => dispatcher.signal(MANAGER_PATH, manager, 'LeaseReleased', [address, name])));
  m.on('leasesInUse', () => send('PropertiesChanged', () => dispatcher.propertiesChanged(MANAGER_PATH, managerFacet, ['LeasesInUse'])));
  m.on('domainChanged', (d, change) =>
    send('PropertiesChanged', () => {
      const names: string[] = [];
      if (change.domainId !== undefined) names.push('DomainId');
      if (change.state !== undefined) names.push('State');
      if (change.vif !== undefined) names.push('Vif');
      dispatcher.propertiesChanged(domainPath(d.name), domainFacet(d), names);
    }),
  );
  return dispatcher;
}
