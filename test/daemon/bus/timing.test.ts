// The "domain created" and "domain started" log lines say how long the call
// took and how much of that the toolstack's processes took, so an operator
// (and bench/dbus) can tell domud's own time from the toolstack's.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { startSandbox } from '../../support/daemon.js';
import { Client, eventually, variant } from './fixtures/client.js';

interface Line {
  msg: string;
  domain?: string;
  ms?: number;
  toolstackMs?: number;
  steps?: Record<string, number>;
}

t.test('create and start log their time and the toolstack share of it', async (t) => {
  const s = await startSandbox(t, {});
  const c = await Client.connect(t, s.address);
  const lines = () =>
    readFileSync(s.logPath, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Line);
  // Written just after the reply has left, so looked for until it is there.
  const only = async (msg: string) => {
    const found = (await eventually(() => {
      const f = lines().filter((l) => l.msg === msg && l.domain === 'slow');
      return f.length > 0 ? f : undefined;
    }, 5_000, `a "${msg}" line`))!;
    t.equal(found.length, 1, `one "${msg}" line`);
    return found[0]!;
  };
  const check = (l: Line, what: string) => {
    t.type(l.ms, 'number', `${what}: ms`);
    t.type(l.toolstackMs, 'number', `${what}: toolstackMs`);
    // The simulator sleeps 400 ms in create, on top of its own start-up.
    t.ok(l.toolstackMs! >= 400, `${what}: the toolstack took ${l.toolstackMs} ms, the delay included`);
    t.ok(l.ms! >= l.toolstackMs!, `${what}: the call (${l.ms} ms) took at least the toolstack's time`);
    t.ok(l.ms! - l.toolstackMs! < 400, `${what}: domud's own part (${l.ms! - l.toolstackMs!} ms) does not hold the delay`);
    t.same(Object.keys(l.steps ?? {}), ['config', 'toolstack', 'store', 'id', 'gate', 'route'], `${what}: each step's time, in order`);
    t.ok(l.steps!.toolstack! >= 400, `${what}: the delay is in the toolstack step (${l.steps!.toolstack} ms)`);
    const sum = Object.values(l.steps!).reduce((a, b) => a + b, 0);
    t.ok(sum <= l.ms! + 1, `${what}: the steps (${sum} ms) are within the call (${l.ms} ms)`);
  };

  await s.sim(['fault', 'create', '--delay', '400', '--times', '2']);
  await c.manager('CreateDomain', 'sa{sv}', ['slow', {}]);
  check(await only('domain created'), 'create');

  await c.manager('ShutdownDomain', 'sa{sv}', ['slow', { wait: variant('b', true) }]);
  await c.manager('StartDomain', 's', ['slow']);
  check(await only('domain started'), 'start');
});
