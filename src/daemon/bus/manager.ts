// org.domud.Domud1.Manager: one handler per method of the contract, each a
// thin call into the model after authorization.
import type { InterfaceImpl } from './binding.js';
import type { InterfaceSpec } from './contract.js';
import { CREATE_OPTIONS, SHUTDOWN_OPTIONS, readOptions } from './options.js';
import { domainPath } from './paths.js';
import type { Service } from './service.js';
import { checkName } from '../model/names.js';
import type { CreateOptions } from '../model/options.js';

export function managerInterface(spec: InterfaceSpec): InterfaceImpl<Service> {
  return {
    spec,
    methods: {
      async CreateDomain(s, ctx, [name, options]) {
        await s.authz.check(ctx, { verb: 'create', domain: name });
        const d = await s.model.create(name, readOptions(options, CREATE_OPTIONS) as CreateOptions);
        return [domainPath(d.name)];
      },
      async StartDomain(s, ctx, [name]) {
        checkName(name);
        await s.authz.check(ctx, { verb: 'start', domain: name });
        await s.model.start(name);
        return [];
      },
      async ShutdownDomain(s, ctx, [name, options]) {
        checkName(name);
        const o = readOptions(options, SHUTDOWN_OPTIONS) as { wait?: boolean; timeout?: number };
        await s.authz.check(ctx, { verb: 'shutdown', domain: name });
        await s.model.shutdown(name, { wait: o.wait, timeoutSeconds: o.timeout });
        return [];
      },
      async DestroyDomain(s, ctx, [name]) {
        checkName(name);
        await s.authz.check(ctx, { verb: 'destroy', domain: name });
        await s.model.destroy(name);
        return [];
      },
      GetDomain(s, _ctx, [name]) {
        checkName(name);
        s.model.assertKnown(name);
        return [domainPath(name)];
      },
      ListDomains(s) {
        return [s.model.summaries().map((d) => [d.name, d.domainId, d.state, d.address, domainPath(d.name)])];
      },
      ListLeases(s) {
        return [s.model.leases().map((l) => [l.address, l.name, l.mac, BigInt(l.acquiredAt)])];
      },
      async CheckHost(s) {
        return [(await s.checkHost()).map((c) => [c.id, c.status, c.message])];
      },
    },
    properties: {
      Network: (s) => s.model.pool.cidr,
      Dom0Address: (s) => s.model.pool.dom0,
      Toolstack: (s) => s.toolstack,
      ForwardingEnabled: (s) => s.forwarding(),
      LeasesTotal: (s) => s.model.pool.total,
      LeasesInUse: (s) => s.model.leasesInUse(),
      Version: (s) => s.version,
    },
  };
}
