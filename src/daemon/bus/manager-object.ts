// org.domud.Domud1.Manager: one handler per method of the contract, each a
// thin call into the model after authorization. The verbs on one domain
// (StartDomain, ShutdownDomain, DestroyDomain) look the domain up and call
// its Domain object's method, so that each verb is authorized in one place
// (domain-object.ts), as machined redirects to its machine objects;
// RemoveImage likewise calls the Image object's Remove (image-object.ts).
import type { InterfaceImpl } from './dispatch.js';
import type { InterfaceSpec } from './contract.js';
import { domainMethods, domainTarget } from './domain-object.js';
import { imageMethods, imageTarget } from './image-object.js';
import { CREATE_OPTIONS, IMAGE_OPTIONS, readOptions } from './options.js';
import { domainPath, imagePath, jobPath } from './paths.js';
import type { Service } from './service.js';
import { checkName } from '../model/names.js';
import type { ImageOptions } from '../model/images.js';
import type { CreateOptions } from '../model/options.js';

export function managerInterface(spec: InterfaceSpec): InterfaceImpl<Service> {
  return {
    spec,
    methods: {
      CreateDomain: {
        in: 'sa{sv}',
        out: 'o',
        async call(s, ctx, [name, options]) {
          await s.authz.check(ctx, { verb: 'create', domain: name });
          const d = await s.model.create(name, readOptions(options, CREATE_OPTIONS) as CreateOptions);
          return [domainPath(d.name)];
        },
      },
      StartDomain: { in: 's', out: '', call: (s, ctx, [name]) => domainMethods.Start.call(domainTarget(s, name), ctx) },
      ShutdownDomain: { in: 'sa{sv}', out: '', call: (s, ctx, [name, options]) => domainMethods.Shutdown.call(domainTarget(s, name), ctx, [options]) },
      DestroyDomain: { in: 's', out: '', call: (s, ctx, [name]) => domainMethods.Destroy.call(domainTarget(s, name), ctx) },
      GetDomain: {
        in: 's',
        out: 'o',
        call(s, _ctx, [name]) {
          checkName(name);
          s.model.assertKnown(name);
          return [domainPath(name)];
        },
      },
      ListDomains: {
        in: '',
        out: 'a(sisso)',
        call: (s) => [s.model.summaries().map((d) => [d.name, d.domainId, d.state, d.address, domainPath(d.name)])],
      },
      ListLeases: {
        in: '',
        out: 'a(ssst)',
        call: (s) => [s.model.leases().map((l) => [l.address, l.name, l.mac, BigInt(l.acquiredAt)])],
      },
      CreateImage: {
        in: 'sa{sv}',
        out: 'o',
        async call(s, ctx, [name, options]) {
          await s.authz.check(ctx, { verb: 'create-image', image: name });
          const job = s.images.create(name, readOptions(options, IMAGE_OPTIONS) as ImageOptions, await s.authz.uid(ctx));
          return [jobPath(job.id)];
        },
      },
      GetImage: { in: 's', out: 'o', call: (s, _ctx, [name]) => [imagePath(s.images.get(name).name)] },
      ListImages: {
        in: '',
        out: 'a(ssstto)',
        call: (s) => [s.images.list().map((i) => [i.name, i.suite, i.state, BigInt(i.size), BigInt(i.createdAt), imagePath(i.name)])],
      },
      RemoveImage: { in: 's', out: '', call: (s, ctx, [name]) => imageMethods.Remove.call(imageTarget(s, name), ctx) },
      CheckHost: {
        in: '',
        out: 'a(sss)',
        call: async (s) => [(await s.checkHost()).map((c) => [c.id, c.status, c.message])],
      },
    },
    properties: {
      Network: { type: 's', get: (s) => s.model.pool.cidr },
      Dom0Address: { type: 's', get: (s) => s.model.pool.dom0 },
      Toolstack: { type: 's', get: (s) => s.toolstack },
      ForwardingEnabled: { type: 'b', get: (s) => s.forwarding() },
      LeasesTotal: { type: 'u', get: (s) => s.model.pool.total },
      LeasesInUse: { type: 'u', get: (s) => s.model.leasesInUse() },
      Version: { type: 's', get: (s) => s.version },
    },
    signals: {
      DomainNew: 'so',
      DomainRemoved: 'so',
      LeaseAcquired: 'ss',
      LeaseReleased: 'ss',
      ImageNew: 'so',
      ImageRemoved: 'so',
    },
  };
}
