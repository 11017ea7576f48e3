// domuctl's D-Bus client (dbus-next's MessageBus) on a real dbus-daemon:
// replies, errors, timeouts, signals, and a connection that fails.
import { join } from 'node:path';
import dbus from 'dbus-next';
import t from 'tap';
import { Bus, BusError, unwrap } from '../../src/cli/bus.js';
import { peerBus } from '../support/peer-bus.js';

t.setTimeout(120_000);
const s = await peerBus(t);
const DBUS = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus' };

t.test('calls, replies and error replies', async (t) => {
  const bus = await Bus.open(s.address);
  t.match(bus.name, /^:1\.\d+$/);
  const [id] = await bus.call({ ...DBUS, member: 'GetId', timeoutMs: 5000 });
  t.match(id, /^[0-9a-f]{32}$/);
  const [has] = await bus.call({ ...DBUS, member: 'NameHasOwner', signature: 's', body: ['org.domud.Domud1'], timeoutMs: 5000, interactive: true });
  t.equal(has, false);
  await t.rejects(bus.call({ ...DBUS, member: 'GetNameOwner', signature: 's', body: ['org.nobody.Here'], timeoutMs: 5000 }), {
    errorName: 'org.freedesktop.DBus.Error.NameHasNoOwner',
    message: /org\.nobody\.Here/,
    local: false,
  });
  const [props] = await bus.call({ ...DBUS, iface: 'org.freedesktop.DBus.Properties', member: 'GetAll', signature: 's', body: ['org.freedesktop.DBus'], timeoutMs: 5000 });
  t.ok(Array.isArray(unwrap(props).Features));
  bus.close();
  await t.rejects(bus.call({ ...DBUS, member: 'GetId', timeoutMs: 5000 }), { errorName: 'org.freedesktop.DBus.Error.Disconnected', local: true, message: /is closed/ });
});

t.test('a peer: late replies, an error without text, signals', async (t) => {
  const peer = dbus.sessionBus({ busAddress: s.address });
  await new Promise((r) => peer.once('connect', r));
  const peerName = (peer as unknown as { name: string }).name;
  peer.addMethodHandler((m: dbus.Message) => {
    const reply =
      m.member === 'Never'
        ? null
        : m.member === 'Quiet'
        ? new dbus.Message({ type: dbus.MessageType.ERROR, replySerial: m.serial as never, destination: m.sender, errorName: 'org.x.Error.Quiet' })
        : dbus.Message.newMethodReturn(m, 's', ['late']);
    if (reply) setTimeout(() => peer.send(reply), m.member === 'Quiet' ? 0 : 300);
    return true;
  });
  const bus = await Bus.open(s.address);
  const call = (member: string, timeoutMs: number) => bus.call({ destination: peerName, path: '/x', iface: 'org.x.Y', member, timeoutMs });
  await t.rejects(call('Quiet', 5000), { errorName: 'org.x.Error.Quiet', message: '' });
  await t.rejects(call('Never', 200), { errorName: 'org.freedesktop.DBus.Error.Timeout', message: 'no reply to Never within 0 s', local: true });
  await t.rejects(call('Slow', 50), { errorName: 'org.freedesktop.DBus.Error.Timeout', message: /Slow/, local: true });
  t.same(await call('Slow', 5000), ['late'], 'the first, late reply was dropped; this one counts');
  await bus.addMatch(`type='signal',sender='${peerName}'`);
  peer.send(dbus.Message.newSignal('/x', 'org.x.Y', 'Unheard')); // nobody listening yet: the default handler drops it
  await t.rejects(call('Quiet', 5000), { errorName: 'org.x.Error.Quiet', message: '', local: false }, 'a round trip: the signal sent before this reply has been dispatched');
  const got = new Promise((r) => (bus.onSignal = r));
  peer.send(dbus.Message.newSignal('/x', 'org.x.Y', 'Heard', 's', ['hi']));
  t.same(await got, { path: '/x', iface: 'org.x.Y', member: 'Heard', body: ['hi'] });
  peer.disconnect();
  bus.close();
});

t.test('a connection that fails', async (t) => {
  const bus = await Bus.open(s.address);
  const inner = (bus as unknown as { bus: NodeJS.EventEmitter }).bus;
  const pending = bus.call({ destination: 'org.freedesktop.DBus', path: '/x', iface: 'org.x.Y', member: 'Z', timeoutMs: 60_000 });
  let closes = 0;
  bus.onClose = () => closes++;
  inner.emit('error', new Error('Tried to write a message to a closed stream'));
  await t.rejects(pending, { errorName: 'org.freedesktop.DBus.Error.Disconnected', message: /closed the connection/, local: true });
  inner.emit('error', new Error('again'));
  t.equal(closes, 1, 'reported once only');
  await t.rejects(bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus', member: 'GetId', timeoutMs: 5000 }), { message: /is closed/ });
  bus.close();
});

t.test('a bus that is not there', async (t) => {
  await t.rejects(Bus.open(`unix:path=${join(t.testdir(), 'no-bus')}`), { errorName: 'org.freedesktop.DBus.Error.Disconnected', local: true, message: /cannot talk to the bus/ });
  await t.rejects(Bus.open('nonsense:'), { errorName: 'org.freedesktop.DBus.Error.BadAddress', local: true, message: /bad bus address/ });
});
