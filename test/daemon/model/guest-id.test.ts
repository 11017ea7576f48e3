// How a boot learns its guest's id: from the one vif that appeared while it
// was the only boot in flight, else from the toolstack's `domid`.
import t from 'tap';
import { GuestIds } from '../../../src/daemon/model/guest-id.js';

function host() {
  const vifs = new Set<string>(['vif3.0', 'vif3.1', 'vifx.0', 'eth0']);
  const asked: string[] = [];
  let vifsFail = false;
  const ids = new GuestIds(
    {
      vifs: async () => {
        if (vifsFail) throw new Error('ip: cannot');
        return [...vifs];
      },
    },
    {
      domid: async (name: string) => {
        asked.push(name);
        return 42;
      },
    },
  );
  return { vifs, asked, ids, failVifs: () => (vifsFail = true) };
}

t.test('one boot, one new vif: its id, and no toolstack run', async (t) => {
  const h = host();
  const w = h.ids.open();
  h.vifs.add('vif9.0');
  h.vifs.add('vif9.1'); // a second nic of the same guest
  t.same(await w.idOf('web'), { id: 9, via: 'vif' });
  w.close();
  t.same(h.asked, []);
});

t.test('the toolstack is asked when the vifs cannot tell', async (t) => {
  const none = host();
  let w = none.ids.open();
  t.same(await w.idOf('web'), { id: 42, via: 'toolstack' }, 'no new vif');
  w.close();

  const two = host();
  w = two.ids.open();
  two.vifs.add('vif9.0');
  two.vifs.add('vif10.0');
  t.same(await w.idOf('web'), { id: 42, via: 'toolstack' }, 'two new vifs');
  w.close();

  const side = host();
  const a = side.ids.open();
  const b = side.ids.open();
  side.vifs.add('vif9.0');
  t.same(await a.idOf('a'), { id: 42, via: 'toolstack' }, 'two boots in flight: the first');
  t.same(await b.idOf('b'), { id: 42, via: 'toolstack' }, 'and the second');
  a.close();
  b.close();
  a.close(); // twice is once

  const later = side.ids.open();
  side.vifs.add('vif11.0');
  t.same(await later.idOf('c'), { id: 11, via: 'vif' }, 'alone again once both have ended');
  later.close();

  const overlap = host();
  const first = overlap.ids.open();
  const second = overlap.ids.open();
  second.close(); // began and ended during the first: still not alone throughout
  overlap.vifs.add('vif9.0');
  t.same(await first.idOf('a'), { id: 42, via: 'toolstack' }, 'a boot that came and went meanwhile');
  first.close();

  const blind = host();
  blind.failVifs();
  w = blind.ids.open();
  t.same(await w.idOf('web'), { id: 42, via: 'toolstack' }, 'ip failing');
  w.close();
});

t.test('the toolstack run is timed by the caller', async (t) => {
  const h = host();
  const w = h.ids.open();
  let timed = 0;
  await w.idOf('web', (call) => {
    timed++;
    return call();
  });
  w.close();
  t.equal(timed, 1);
});
