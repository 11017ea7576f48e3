// The bus skin over a stand-in model, on a private dbus-daemon with a real
// dbus-next client: paths resolve to the model's domains, the manager's
// verbs on one domain go through the Domain object's handler (one
// authorization site), and the model's events become signals.
import { EventEmitter } from 'node:events';
import dbus from 'dbus-next';
import type { Logger } from 'pino';
import t from 'tap';
import type { Authorizer } from '../../../src/daemon/bus/authz.js';
import type { CallContext } from '../../../src/daemon/bus/dispatch.js';
import { publish } from '../../../src/daemon/bus/publish.js';
import type { Service } from '../../../src/daemon/bus/service.js';
import type { Domain } from '../../../src/daemon/model/domain.js';
import { NoSuchDomainError } from '../../../src/daemon/model/errors.js';
import type { DomainManager, ManagerEvents } from '../../../src/daemon/model/manager.js';
import { peerBus } from '../../support/peer-bus.js';
import { imageRig } from '../model/image-fakes.js';
import { Client, DOMAIN_IFACE, MANAGER, MANAGER_IFACE, OM, errorOf, variant } from './fixtures/client.js';

const s = await peerBus(t);

const domain = (name: string, running: boolean): Domain => ({
  name,
  address: '172.20.216.2',
  mac: '00:16:3e:00:00:01',
  createdAt: 1_700_000_000_000_000,
  settings: { memory: 128, vcpus: 1, kernel: '/boot/vmlinuz', ramdisk: '', extra: '', root: '', disks: [] },
  domainId: running ? 3 : -1,
  state: running ? 'running' : 'stopped',
  vif: running ? 'vif3.0' : '',
});

/** The model as the bus sees it: the calls it makes, recorded. */
class FakeModel extends EventEmitter<ManagerEvents> {
  readonly domains = new Map<string, Domain>([['web-1', domain('web-1', true)]]);
  readonly calls: string[] = [];
  readonly pool = { cidr: '172.20.216.0/24', dom0: '172.20.216.1', total: 253 };
  list = () => [...this.domains.values()];
  summaries = () => this.list();
  find = (name: string) => this.domains.get(name);
  get = (name: string) => {
    const d = this.domains.get(name);
    if (!d) throw new NoSuchDomainError(name);
    return d;
  };
  assertKnown = (name: string) => void this.get(name);
  leases = () => [];
  leasesInUse = () => this.domains.size;
  start = async (name: string) => void this.calls.push(`start ${name}`);
  shutdown = async (name: string, o: object) => void this.calls.push(`shutdown ${name} ${JSON.stringify(o)}`);
  destroy = async (name: string) => void this.calls.push(`destroy ${name}`);
}

const model = new FakeModel();
const { images, jobs } = await imageRig(t);
const asked: Array<{ ctx: CallContext; details: Record<string, string> }> = [];
const service: Service = {
  model: model as unknown as DomainManager,
  images,
  jobs,
  authz: { check: async (ctx: CallContext, details: Record<string, string>) => void asked.push({ ctx, details }) } as unknown as Authorizer,
  toolstack: 'xl',
  version: '9.9.9',
  forwarding: async () => false,
  checkHost: async () => [{ id: 'range', status: 'ok', message: 'free' }],
};
const log = { error: () => undefined, warn: () => undefined, debug: () => undefined } as unknown as Logger;
const bus = dbus.sessionBus({ busAddress: s.address });
await new Promise((r) => bus.once('connect', r));
t.teardown(() => bus.disconnect());
const daemon = (bus as unknown as { name: string }).name;
await publish(bus, service, log);

const c = await Client.connect(t, s.address);
const at = (path: string, iface: string, member: string, signature = '', body: unknown[] = []) => c.call(path, iface, member, signature, body, 0, daemon);
const WEB = '/org/domud/Domud1/domain/web_2d1';

t.test('paths resolve to the model, read on demand', async (t) => {
  t.same(await at(MANAGER, MANAGER_IFACE, 'GetDomain', 's', ['web-1']), [WEB]);
  t.equal((await at(WEB, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [DOMAIN_IFACE, 'Vif']))[0].value, 'vif3.0');
  const [objects] = await at(MANAGER, OM, 'GetManagedObjects');
  t.same(Object.keys(objects), [WEB]);
  t.equal(objects[WEB][DOMAIN_IFACE].MemoryMiB.value, 128);
  t.match((await at('/org/domud/Domud1/domain', 'org.freedesktop.DBus.Introspectable', 'Introspect'))[0], /<node name="web_2d1"\/>/);
  t.equal(await errorOf(at('/org/domud/Domud1/domain/nobody', DOMAIN_IFACE, 'Start')), 'org.freedesktop.DBus.Error.UnknownObject');
  t.same(await at(MANAGER, MANAGER_IFACE, 'CheckHost'), [[['range', 'ok', 'free']]]);
  t.equal((await at(MANAGER, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER_IFACE, 'Version']))[0].value, '9.9.9');
});

t.test("the manager's verbs on one domain are the Domain object's", async (t) => {
  asked.length = 0;
  model.calls.length = 0;
  await at(MANAGER, MANAGER_IFACE, 'StartDomain', 's', ['web-1']);
  await at(WEB, DOMAIN_IFACE, 'Start');
  await at(MANAGER, MANAGER_IFACE, 'ShutdownDomain', 'sa{sv}', ['web-1', { wait: variant('b', true), timeout: variant('u', 5) }]);
  await at(WEB, DOMAIN_IFACE, 'Shutdown', 'a{sv}', [{ wait: variant('b', true), timeout: variant('u', 5) }]);
  await at(MANAGER, MANAGER_IFACE, 'DestroyDomain', 's', ['web-1']);
  await at(WEB, DOMAIN_IFACE, 'Destroy');
  t.same(
    asked.map((a) => a.details),
    [
      { verb: 'start', domain: 'web-1' },
      { verb: 'start', domain: 'web-1' },
      { verb: 'shutdown', domain: 'web-1' },
      { verb: 'shutdown', domain: 'web-1' },
      { verb: 'destroy', domain: 'web-1' },
      { verb: 'destroy', domain: 'web-1' },
    ],
    'each authorized once, the same way by either path',
  );
  t.ok(asked.every((a) => a.ctx.sender === c.name), 'as the caller');
  const shutdown = 'shutdown web-1 {"wait":true,"timeoutSeconds":5}';
  t.same(model.calls, ['start web-1', 'start web-1', shutdown, shutdown, 'destroy web-1', 'destroy web-1']);

  asked.length = 0;
  t.equal(await errorOf(at(MANAGER, MANAGER_IFACE, 'StartDomain', 's', ['nobody'])), 'org.domud.Domud1.Error.NoSuchDomain');
  t.equal(await errorOf(at(MANAGER, MANAGER_IFACE, 'DestroyDomain', 's', ['no/such'])), 'org.domud.Domud1.Error.InvalidName');
  t.equal(await errorOf(at(MANAGER, MANAGER_IFACE, 'ShutdownDomain', 'sa{sv}', ['web-1', { force: variant('b', true) }])), 'org.domud.Domud1.Error.InvalidArgument');
  t.same(asked, [], 'nothing is authorized for a call that cannot be made');
});

t.test("the model's events become signals", async (t) => {
  await c.match(`type='signal',sender='${daemon}'`);
  const from = c.seen.length;
  const d = domain('db', false);
  model.domains.set('db', d);
  model.emit('domainNew', d);
  model.emit('leaseAcquired', '172.20.216.3', 'db');
  model.emit('leasesInUse', 2);
  model.emit('domainChanged', { ...d, domainId: 4, state: 'running', vif: 'vif4.0' }, { domainId: 4, state: 'running', vif: 'vif4.0' });
  model.domains.delete('db');
  model.emit('domainRemoved', 'db');
  model.emit('leaseReleased', '172.20.216.3', 'db');
  await c.waitFor((x) => x.member === 'LeaseReleased', 5000, from);
  await c.waitFor((x) => x.member === 'InterfacesRemoved', 5000, from);
  const all = c.seen.slice(from);
  const name = (x: { iface: string; member: string }) => `${x.iface.split('.').at(-1)}.${x.member}`;
  // InterfacesAdded goes at once: a PropertiesChanged or InterfacesRemoved
  // that overtook it would leave a client with a stale or a removed object.
  t.same(
    all.map(name),
    [
      'Manager.DomainNew',
      'ObjectManager.InterfacesAdded',
      'Manager.LeaseAcquired',
      'Properties.PropertiesChanged',
      'Properties.PropertiesChanged',
      'Manager.DomainRemoved',
      'ObjectManager.InterfacesRemoved',
      'Manager.LeaseReleased',
    ],
    'in the order the model raised them',
  );
  const seen = all.filter((x) => !x.iface.endsWith('ObjectManager'));
  const added = all.find((x) => x.member === 'InterfacesAdded')!;
  t.equal(added.body[0], '/org/domud/Domud1/domain/db');
  t.equal(added.body[1][DOMAIN_IFACE].Address.value, '172.20.216.2');
  t.same(seen[0]!.body, ['db', '/org/domud/Domud1/domain/db']);
  t.equal(seen[2]!.body[1].LeasesInUse.value, 2);
  t.same(Object.keys(seen[3]!.body[1]).sort(), ['DomainId', 'State', 'Vif']);
  t.equal(seen[3]!.path, '/org/domud/Domud1/domain/db');
});
