// A waited shutdown as a client watching the domain sees it (issue #22):
// State goes to stopped once and stays there, though Xen (here the
// simulator, taught to linger) lists the guest, shut down, for a while
// after `shutdown -w` has returned, and reconcile rounds run meanwhile.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startSandbox } from '../../support/daemon.js';
import { Client, DOMAIN_IFACE, PROPS, eventually, variant } from './fixtures/client.js';

const LINGER_MS = 2500;

t.test('State reads stopped, once, while the toolstack still lists the guest shut down', async (t) => {
    const s = await startSandbox(t, {});
    const c = await Client.connect(t, s.address);
    await c.subscribeAll();
    const sim = async (...args: string[]) => t.equal((await s.sim(args)).code, 0, `xm-sim ${args.join(' ')}`);
    await sim('set', 'shutdown-delay', '300');
    await sim('set', 'shutdown-linger', String(LINGER_MS));
    const [path] = (await c.manager('CreateDomain', 'sa{sv}', ['calm', {}])) as [string];
    const state = async () => (await c.prop(path, DOMAIN_IFACE, 'State')) as string;
    // The first reconcile round reads the simulator's blocked guest.
    await eventually(async () => (await state()) === 'blocked', 10_000, 'a reconcile round');
    const from = c.seen.length;

    await c.manager('ShutdownDomain', 'sa{sv}', ['calm', { wait: variant('b', true) }]);
    t.match((await s.sim(['list'])).stdout, /^calm\s+\d+\s+\d+\s+\d+\s+---s--/m, 'the toolstack still lists it, shut down');
    t.equal(await state(), 'stopped', 'stopped when the call returns');
    // Rounds run every second: through the linger and past it.
    await eventually(async () => !/^calm\s/m.test((await s.sim(['list'])).stdout), LINGER_MS + 5_000, 'the guest to be gone');
    await sleep(1_500);
    t.equal(await state(), 'stopped', 'and stays stopped');
    t.equal(await c.prop(path, DOMAIN_IFACE, 'DomainId'), -1);
    const states = c.seen
      .slice(from)
      .filter((x) => x.member === 'PropertiesChanged' && x.iface === PROPS && x.path === path)
      .flatMap((x) => {
        const changed = x.body[1] as Record<string, { value: unknown }>;
        return 'State' in changed ? [changed.State!.value] : [];
      });
    t.same(states, ['stopped'], 'one PropertiesChanged of State for the whole shutdown');
    await c.manager('StartDomain', 's', ['calm']);
    t.match(await state(), /^(running|blocked)$/, 'and it starts again');
});
