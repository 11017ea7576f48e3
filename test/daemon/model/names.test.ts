import t from 'tap';
import { checkMac, checkName, randomXenMac } from '../../../src/daemon/model/names.js';

t.test('names of the contract', async (t) => {
  for (const ok of ['web1', 'a', '1db', 'a.b_c-d', 'x'.repeat(63)]) t.doesNotThrow(() => checkName(ok), ok);
  for (const bad of ['', '-x', '.x', '_x', 'a/b', 'a b', 'é', 'x'.repeat(64), 'a\nb', 'x'.repeat(200)]) {
    t.throws(() => checkName(bad), { code: 'InvalidName', name: 'InvalidNameError' }, JSON.stringify(bad));
  }
  for (const reserved of ['Domain-0', 'domain-0', 'DOMAIN-0']) t.throws(() => checkName(reserved), /reserved/);
});

t.test('MAC addresses', async (t) => {
  t.equal(checkMac('00:16:3E:AA:bb:01'), '00:16:3e:aa:bb:01');
  t.throws(() => checkMac('01:16:3e:00:00:01'), /multicast/);
  t.throws(() => checkMac('00:00:00:00:00:00'), /not a usable/);
  for (const bad of ['', '00:16:3e:00:00', '00-16-3e-00-00-01', 'zz:16:3e:00:00:01', '00:16:3e:00:00:01:02']) {
    t.throws(() => checkMac(bad), { code: 'InvalidArgument', name: 'InvalidArgumentError' }, bad);
  }
  for (let i = 0; i < 200; i++) {
    const m = randomXenMac();
    t.match(m, /^00:16:3e:[0-7][0-9a-f](:[0-9a-f]{2}){2}$/);
    t.equal(checkMac(m), m);
  }
});
