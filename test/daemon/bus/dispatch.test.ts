// The dispatcher and the authorizer on their own, on a private dbus-daemon
// with real dbus-next peers and no domud around them: who called, the
// contract's signatures enforced, the standard interfaces, every error
// mapped once and without a stack, signals, and the drain at stop.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dbus from 'dbus-next';
import type { Logger } from 'pino';
import t from 'tap';
import { AccessDeniedError, Authorizer, lookupGroup } from '../../../src/daemon/bus/authz.js';
import { conformance } from '../../../src/daemon/bus/conformance.js';
import { parseInterface } from '../../../src/daemon/bus/contract.js';
import { type CallContext, Dispatcher, type InterfaceImpl } from '../../../src/daemon/bus/dispatch.js';
import { errorMapper } from '../../../src/daemon/bus/errors.js';
import { NoSuchDomainError } from '../../../src/daemon/model/errors.js';
import { peerBus } from '../../support/peer-bus.js';
import { Client, errorOf } from './fixtures/client.js';

const ROOT = '/org/domud/Test1';
const IFACE = 'org.domud.Test1';
const XML = `<node>
 <interface name="${IFACE}">
  <method name="Echo">
   <arg name="text" type="s" direction="in"/>
   <arg name="echo" type="s" direction="out"/>
  </method>
  <method name="Fail"/>
  <method name="Crash"/>
  <method name="Slow"/>
  <method name="Change"/>
  <property name="Count" type="u" access="read"/>
  <property name="Fixed" type="s" access="read">
   <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="const"/>
  </property>
  <signal name="Happened">
   <arg name="what" type="s"/>
  </signal>
 </interface>
</node>`;

const E = 'org.freedesktop.DBus.Error.';
const s = await peerBus(t);

const logged: Array<{ fields: unknown; msg: string }> = [];
const answered: Array<{ fields: { member: string; ms: number }; msg: string }> = [];
const log = {
  error: (fields: unknown, msg: string) => logged.push({ fields, msg }),
  warn: () => undefined,
  debug: (fields: { member: string; ms: number }, msg: string) => answered.push({ fields, msg }),
} as unknown as Logger;

const service = dbus.sessionBus({ busAddress: s.address });
await new Promise((r) => service.once('connect', r));
t.teardown(() => service.disconnect());
const serviceName = (service as unknown as { name: string }).name;

let count = 3;
const callers: CallContext[] = [];
let finishSlow: () => void = () => undefined;
let slowStarted: () => void = () => undefined;
/** Resolves once a Slow call has reached its handler. */
const slowCall = () => {
  const started = new Promise<void>((r) => (slowStarted = r));
  return { reply: call('Slow'), started };
};
const authz = new Authorizer({ bus: service, group: '', polkit: false, log });
const impl: InterfaceImpl<{ n: number }> = {
  spec: await parseInterface(IFACE, XML),
  methods: {
    Echo: { in: 's', out: 's', call: (_t, ctx, [text]) => (callers.push(ctx), [`${text}!`]) },
    Fail: { in: '', out: '', call: () => Promise.reject(new NoSuchDomainError('ghost')) },
    Crash: {
      in: '',
      out: '',
      call: () => {
        throw new TypeError('secret internals');
      },
    },
    Slow: {
      in: '',
      out: '',
      call: () =>
        new Promise<unknown[]>((r) => {
          finishSlow = () => r([]);
          slowStarted();
        }),
    },
    Change: {
      in: '',
      out: '',
      call: async (_t, ctx) => {
        await authz.check(ctx, { verb: 'change' });
        return [];
      },
    },
  },
  properties: {
    Count: { type: 'u', get: () => count },
    Fixed: { type: 's', get: (x) => `n=${x.n}` },
  },
  signals: { Happened: 's' },
};
const facet = { impl, target: { n: 7 } };
const dispatcher = new Dispatcher(service, {
  root: ROOT,
  resolve: (path) => {
    if (path === ROOT) return { facets: [facet], children: () => ['child'] };
    if (path === `${ROOT}/child`) return { facets: [], children: () => [] };
    const below = ROOT.slice(path === '/' ? 1 : path.length + 1).split('/')[0];
    return ROOT.startsWith(path === '/' ? '/' : `${path}/`) ? { facets: [], children: () => [below!] } : null;
  },
  mapError: errorMapper(log),
  log,
});
dispatcher.install();

const c = await Client.connect(t, s.address);
const call = (member: string, signature = '', body: unknown[] = [], iface = IFACE, path = ROOT) => c.call(path, iface, member, signature, body, 0, serviceName);

t.test('the handler table conforms to its XML', async (t) => {
  t.same(conformance(impl), []);
});

t.test('a method gets its arguments and who called, as the bus says', async (t) => {
  t.same(await call('Echo', 's', ['hi']), ['hi!']);
  t.equal(callers.at(-1)?.sender, c.name, 'the sender is the caller');
  t.equal(callers.at(-1)?.interactive, false);
  await c.call(ROOT, IFACE, 'Echo', 's', ['again'], 0x4, serviceName);
  t.equal(callers.at(-1)?.interactive, true, 'ALLOW_INTERACTIVE_AUTHORIZATION is passed on');
  t.same(await call('Echo', 's', ['no interface'], ''), ['no interface!'], 'a call without an interface finds the method');
  const last = answered.at(-1)!;
  t.match(last, { msg: 'call answered', fields: { member: 'Echo', path: ROOT } }, 'each call is logged once answered (debug)');
  t.ok(last.fields.ms >= 0 && last.fields.ms < 10_000, `with its time: ${last.fields.ms} ms`);
});

t.test('what does not fit the contract is answered as D-Bus says, not as UnknownMethod', async (t) => {
  t.equal(await errorOf(call('Echo', 'u', [7])), `${E}InvalidArgs`, 'a wrong signature');
  t.equal(await errorOf(call('Echo')), `${E}InvalidArgs`, 'no arguments');
  t.equal(await errorOf(call('Reboot')), `${E}UnknownMethod`);
  t.equal(await errorOf(call('Echo', 's', ['x'], 'org.domud.Other1')), `${E}UnknownInterface`);
  t.equal(await errorOf(call('Echo', 's', ['x'], IFACE, `${ROOT}/nothing`)), `${E}UnknownObject`);
});

t.test('errors are mapped once, and internal ones keep their stack to the log', async (t) => {
  await t.rejects(call('Fail'), { errorName: 'org.domud.Domud1.Error.NoSuchDomain', message: /ghost/ });
  logged.length = 0;
  const crash = await call('Crash').catch((e: Error & { errorName: string }) => e);
  t.match(crash, { errorName: `${E}Failed`, message: /internal error; its log/ });
  t.notMatch((crash as Error).message, /secret|TypeError|at /, 'no stack, no internals');
  t.match(logged, [{ msg: /internal error/, fields: { err: { message: 'secret internals' } } }], 'the log has the error itself');
});

t.test('the standard interfaces', async (t) => {
  t.same(await call('Ping', '', [], 'org.freedesktop.DBus.Peer'), []);
  t.match((await call('GetMachineId', '', [], 'org.freedesktop.DBus.Peer'))[0], /^[0-9a-f]{32}$/);
  const [xml] = await call('Introspect', '', [], 'org.freedesktop.DBus.Introspectable');
  t.ok(xml.includes(impl.spec.xml), 'the interface element as written');
  t.match(xml, /<node name="child"\/>/);
  t.match((await call('Introspect', '', [], 'org.freedesktop.DBus.Introspectable', '/org/domud'))[0], /<node name="Test1"\/>/, 'ancestors are introspectable');
  const P = 'org.freedesktop.DBus.Properties';
  t.same((await call('Get', 'ss', [IFACE, 'Count'], P))[0].value, 3);
  const [all] = await call('GetAll', 's', [IFACE], P);
  t.same({ Count: all.Count.value, Fixed: all.Fixed.value }, { Count: 3, Fixed: 'n=7' });
  t.same((await call('GetAll', 's', ['org.freedesktop.DBus.Peer'], P))[0], {}, 'a standard interface has no properties');
  t.equal(await errorOf(call('Get', 'ss', [IFACE, 'Nope'], P)), `${E}UnknownProperty`);
  t.equal(await errorOf(call('Get', 'ss', ['org.domud.Other1', 'Count'], P)), `${E}UnknownInterface`);
  t.equal(await errorOf(call('Set', 'ssv', [IFACE, 'Count', new dbus.Variant('u', 9)], P)), `${E}PropertyReadOnly`);
  t.equal(await errorOf(call('Get', 's', [IFACE], P)), `${E}InvalidArgs`);
  t.equal(await errorOf(call('Frob', '', [], P)), `${E}UnknownMethod`);
});

t.test('signals: the contract says which properties announce a change', async (t) => {
  await c.match(`type='signal',sender='${serviceName}'`);
  const from = c.seen.length;
  dispatcher.signal(ROOT, impl, 'Happened', ['now']);
  count = 4;
  dispatcher.propertiesChanged(ROOT, facet, ['Fixed']); // const: nothing to send
  dispatcher.propertiesChanged(ROOT, facet, ['Count']);
  const changed = await c.waitFor((x) => x.member === 'PropertiesChanged', 5000, from);
  t.same([changed.body[0], changed.body[1].Count.value, changed.body[2]], [IFACE, 4, []]);
  t.same(
    c.seen.slice(from).map((x) => x.member),
    ['Happened', 'PropertiesChanged'],
    'in order, and none for the const property',
  );
  t.throws(() => dispatcher.signal(ROOT, impl, 'Unlisted', []), /not in its handler table/);
});

t.test('the drain waits for the replies still owed, within its bound', async (t) => {
  const slow = slowCall();
  await slow.started;
  let drained = false;
  const drain = dispatcher.drain(10_000).then(() => (drained = true));
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(drained, 'not while Slow runs');
  finishSlow();
  await drain;
  t.same(await slow.reply, []);
  const stuck = slowCall();
  await stuck.started;
  const t0 = Date.now();
  await dispatcher.drain(200);
  t.ok(Date.now() - t0 < 5_000, 'a stuck call does not hold the stop');
  finishSlow();
  await stuck.reply;
});

t.test('authorization: root passes, anyone else is denied without polkit', async (t) => {
  t.same(await call('Change'), [], 'this test runs as root');
  const nobody = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', 'dbus-send', `--bus=${s.address}`, '--print-reply', `--dest=${serviceName}`, ROOT, `${IFACE}.Change`],
      { timeout: 30_000, env: { PATH: process.env.PATH } },
      (err, _out, stderr) => resolve({ code: err ? 1 : 0, stderr }),
    ),
  );
  t.equal(nobody.code, 1);
  t.match(nobody.stderr, /uid 65534 may not change domains: only root may/);
  await t.rejects(authz.check({ sender: ':1.99999', interactive: false }, {}), 'a sender the bus does not know');
  t.type(new AccessDeniedError('x').code, 'string');
});

t.test('lookupGroup reads a group file', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'group');
  writeFileSync(file, 'root:x:0:\nbad:x:notanumber:\nxen:x:123:alice,bob\n');
  t.equal(lookupGroup('xen', file), 123);
  t.equal(lookupGroup('root', file), 0);
  t.equal(lookupGroup('bad', file), null);
  t.equal(lookupGroup('nobody-here', file), null);
  t.equal(lookupGroup('xen', join(dir, 'no-such-file')), null);
});
