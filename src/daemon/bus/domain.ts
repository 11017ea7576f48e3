// org.domud.Domud1.Domain: the per-domain object. Its methods are the
// manager's verbs for this one domain (machined's redirect, the other way
// round); its properties are read from the model's current view.
import type { InterfaceImpl } from './binding.js';
import type { InterfaceSpec } from './contract.js';
import { SHUTDOWN_OPTIONS, readOptions } from './options.js';
import type { Service } from './service.js';
import type { Domain } from '../model/domain.js';

export interface DomainTarget {
  readonly service: Service;
  readonly domain: Domain;
}

export function domainInterface(spec: InterfaceSpec): InterfaceImpl<DomainTarget> {
  return {
    spec,
    methods: {
      async Start({ service: s, domain: d }, ctx) {
        await s.authz.check(ctx, { verb: 'start', domain: d.name });
        await s.model.start(d.name);
        return [];
      },
      async Shutdown({ service: s, domain: d }, ctx, [options]) {
        const o = readOptions(options, SHUTDOWN_OPTIONS) as { wait?: boolean; timeout?: number };
        await s.authz.check(ctx, { verb: 'shutdown', domain: d.name });
        await s.model.shutdown(d.name, { wait: o.wait, timeoutSeconds: o.timeout });
        return [];
      },
      async Destroy({ service: s, domain: d }, ctx) {
        await s.authz.check(ctx, { verb: 'destroy', domain: d.name });
        await s.model.destroy(d.name);
        return [];
      },
    },
    properties: {
      Name: (t) => t.domain.name,
      DomainId: (t) => t.domain.domainId,
      State: (t) => t.domain.state,
      Address: (t) => t.domain.address,
      MacAddress: (t) => t.domain.mac,
      Vif: (t) => t.domain.vif,
      MemoryMiB: (t) => t.domain.settings.memory,
      VCpus: (t) => t.domain.settings.vcpus,
      CreatedAt: (t) => BigInt(t.domain.createdAt),
    },
  };
}
