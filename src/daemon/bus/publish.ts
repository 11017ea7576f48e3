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
import { type ImageTarget, imageInterface } from './image-object.js';
import { type JobTarget, jobInterface } from './job-object.js';
import { managerInterface } from './manager-object.js';
import { DOMAIN_PREFIX, IMAGE_PREFIX, JOB_PREFIX, MANAGER_PATH, domainPath, imagePath, jobId, jobPath, labelEscape, labelUnescape } from './paths.js';
import type { Service } from './service.js';
import type { Domain } from '../model/domain.js';
import type { Image } from '../model/images.js';
import type { Job } from '../model/jobs.js';

const DOMAIN_IFACE = 'org.domud.Domud1.Domain';
const IMAGE_IFACE = 'org.domud.Domud1.Image';
const JOB_IFACE = 'org.domud.Domud1.Job';

export async function publish(bus: dbus.MessageBus, service: Service, log: Logger): Promise<Dispatcher> {
  const manager = managerInterface(await loadInterface('org.domud.Domud1.Manager'));
  const domain = domainInterface(await loadInterface('org.domud.Domud1.Domain'));
  const image = imageInterface(await loadInterface(IMAGE_IFACE));
  const job = jobInterface(await loadInterface(JOB_IFACE));
  for (const impl of [manager, domain, image, job]) assertConforms(impl);
  const managerFacet: Facet = { impl: manager, target: service };
  const domainFacet = (d: Domain): Facet => ({ impl: domain, target: { service, domain: d } satisfies DomainTarget });
  const domainObject = (d: Domain): BoundObject => ({ facets: [domainFacet(d)], children: () => [] });
  const imageFacet = (i: Image): Facet => ({ impl: image, target: { service, image: i } satisfies ImageTarget });
  const imageObject = (i: Image): BoundObject => ({ facets: [imageFacet(i)], children: () => [] });
  const jobFacet = (j: Job): Facet => ({ impl: job, target: { service, job: j } satisfies JobTarget });
  const jobObject = (j: Job): BoundObject => ({ facets: [jobFacet(j)], children: () => [] });
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
        children: () => ['domain', 'image', 'job'],
        managed: () => [
          ...service.model.list().map((d): [string, BoundObject] => [domainPath(d.name), domainObject(d)]),
          ...service.images.list().map((i): [string, BoundObject] => [imagePath(i.name), imageObject(i)]),
          ...service.jobs.list().map((j): [string, BoundObject] => [jobPath(j.id), jobObject(j)]),
        ],
      };
    }
    if (path === DOMAIN_PREFIX) return { facets: [], children: () => service.model.summaries().map((d) => labelEscape(d.name)) };
    if (path === IMAGE_PREFIX) return { facets: [], children: () => service.images.list().map((i) => labelEscape(i.name)) };
    if (path === JOB_PREFIX) return { facets: [], children: () => service.jobs.list().map((j) => String(j.id)) };
    if (path.startsWith(`${IMAGE_PREFIX}/`)) {
      const name = labelUnescape(path.slice(IMAGE_PREFIX.length + 1));
      const i = name === null ? undefined : service.images.find(name);
      return i ? imageObject(i) : null;
    }
    if (path.startsWith(`${JOB_PREFIX}/`)) {
      const id = jobId(path.slice(JOB_PREFIX.length + 1));
      const j = id === null ? undefined : service.jobs.get(id);
      return j ? jobObject(j) : null;
    }
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
      dispatcher.interfacesRemoved(MANAGER_PATH, domainPath(name), DOMAIN_IFACE);
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
  const im = service.images;
  im.on('imageNew', (i) =>
    send('ImageNew', () => {
      dispatcher.signal(MANAGER_PATH, manager, 'ImageNew', [i.name, imagePath(i.name)]);
      return dispatcher.interfacesAdded(MANAGER_PATH, imagePath(i.name), imageObject(i));
    }),
  );
  im.on('imageChanged', (i) => send('PropertiesChanged', () => dispatcher.propertiesChanged(imagePath(i.name), imageFacet(i), ['State', 'Size', 'CreatedAt'])));
  im.on('imageRemoved', (name) =>
    send('ImageRemoved', () => {
      dispatcher.signal(MANAGER_PATH, manager, 'ImageRemoved', [name, imagePath(name)]);
      dispatcher.interfacesRemoved(MANAGER_PATH, imagePath(name), IMAGE_IFACE);
    }),
  );
  const jobs = service.jobs;
  jobs.on('jobNew', (j) => send('InterfacesAdded', () => dispatcher.interfacesAdded(MANAGER_PATH, jobPath(j.id), jobObject(j))));
  jobs.on('jobChanged', (j) => send('PropertiesChanged', () => dispatcher.propertiesChanged(jobPath(j.id), jobFacet(j), ['Progress', 'ProgressValid', 'ExpectedEndTime'])));
  jobs.on('jobCompleted', (j, success, error) =>
    send('Completed', () => {
      // The failure as a client would have got it from a call: the error's D-Bus name, then its message.
      const message = success ? '' : (({ name, message }) => `${name}: ${message}`)(errorMapper(log)(error));
      dispatcher.signal(jobPath(j.id), job, 'Completed', [success, message]);
      dispatcher.interfacesRemoved(MANAGER_PATH, jobPath(j.id), JOB_IFACE);
    }),
  );
  return dispatcher;
}
