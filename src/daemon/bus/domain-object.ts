// org.domud.Domud1.Domain: the per-domain object. Its methods are the one
// place where a change to one domain is authorized and handed to the model:
// the manager's StartDomain, ShutdownDomain and DestroyDomain look the
// domain up and call these (machined's redirect_method_to_machine). Its
// properties are read from the model's current view.
import type { InterfaceImpl } from './dispatch.js';
import type { InterfaceSpec } from './contract.js';
import { SHUTDOWN_OPTIONS, readOptions } from './options.js';
import type { Service } from './service.js';
import type { Domain } from '../model/domain.js';
import { checkName } from '../model/names.js';

export interface DomainTarget {
  readonly service: Service;
  readonly domain: Domain;
}

/** The domain `name` as a Domain object's target: InvalidName or NoSuchDomain if there is none. */
export function domainTarget(service: Service, name: string): DomainTarget {
  checkName(name);
  return { service, domain: service.model.get(name) };
}

/** Start, Shutdown and Destroy: also what the manager's verbs on one domain call. */
export const domainMethods = {
  Start: {
    in: '',
    out: '',
    async call({ service: s, domain: d }, ctx) {
      await s.authz.check(ctx, { verb: 'start', domain: d.name });
      await s.model.start(d.name);
      return [];
    },
  },
  Shutdown: {
    in: 'a{sv}',
    out: '',
    async call({ service: s, domain: d }, ctx, [options]) {
      const o = readOptions(options, SHUTDOWN_OPTIONS) as { wait?: boolean; timeout?: number };
      await s.authz.check(ctx, { verb: 'shutdown', domain: d.name });
      await s.model.shutdown(d.name, { wait: o.wait, timeoutSeconds: o.timeout });
      return [];
    },
  },
  Destroy: {
    in: '',
    out: '',
    async call({ service: s, domain: d }, ctx) {
      await s.authz.check(ctx, { verb: 'destroy', domain: d.name });
      await s.model.destroy(d.name);
      return [];
    },
  },
} satisfies InterfaceImpl<DomainTarget>['methods'];

export function domainInterface(spec: InterfaceSpec): InterfaceImpl<DomainTarget> {
  return {
    spec,
    methods: domainMethods,
    properties: {
      Name: { type: 's', get: (t) => t.domain.name },
      DomainId: { type: 'i', get: (t) => t.domain.domainId },
      State: { type: 's', get: (t) => t.domain.state },
      Address: { type: 's', get: (t) => t.domain.address },
      MacAddress: { type: 's', get: (t) => t.domain.mac },
      Vif: { type: 's', get: (t) => t.domain.vif },
      MemoryMiB: { type: 'u', get: (t) => t.domain.settings.memory },
      VCpus: { type: 'u', get: (t) => t.domain.settings.vcpus },
      CreatedAt: { type: 't', get: (t) => BigInt(t.domain.createdAt) },
    },
    signals: {},
  };
}
