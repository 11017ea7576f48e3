import t from 'tap';
import { InvalidRangeError, IpamError, isUnicastMac, MAX_PREFIX, MIN_PREFIX, Pool } from '../../src/ipam/index.js';
import { addressToInt, intToAddress } from '../../src/ipam/pool.js';

t.test('a /24 has dom0 at .1 and 253 leasable addresses', async (t) => {
  const p = Pool.parse('172.20.216.0/24');
  t.equal(p.cidr, '172.20.216.0/24');
  t.equal(p.network, '172.20.216.0');
  t.equal(p.broadcast, '172.20.216.255');
  t.equal(p.dom0, '172.20.216.1');
  t.equal(p.netmask, '255.255.255.0');
  t.equal(p.prefix, 24);
  t.equal(p.total, 253);
  t.equal(intToAddress(p.first), '172.20.216.2');
  t.equal(intToAddress(p.last), '172.20.216.254');
});

t.test('the bounds /16 and /30 work; host bits are normalised away', async (t) => {
  const big = Pool.parse('10.64.7.9/16');
  t.equal(big.cidr, '10.64.0.0/16');
  t.equal(big.netmask, '255.255.0.0');
  t.equal(big.total, 65536 - 3);
  const tiny = Pool.parse('192.168.1.4/30');
  t.equal(tiny.total, 1);
  t.equal(tiny.dom0, '192.168.1.5');
  t.equal(tiny.broadcast, '192.168.1.7');
  t.equal(tiny.netmask, '255.255.255.252');
  t.equal(MIN_PREFIX, 16);
  t.equal(MAX_PREFIX, 30);
});

t.test('bad ranges are InvalidRangeError saying which rule they break', async (t) => {
  const cases: [unknown, string][] = [
    ['fd00::/64', 'ipv6'],
    ['::ffff:10.0.0.0/120', 'ipv6'],
    ['10.0.0.0', 'syntax'],
    ['10.0.0/24', 'syntax'],
    ['10.0.0.0/33', 'syntax'],
    ['010.0.0.0/24', 'syntax'],
    ['', 'syntax'],
    [42, 'syntax'],
    ['10.0.0.0/15', 'prefix'],
    ['10.0.0.0/31', 'prefix'],
    ['10.0.0.0/8', 'prefix'],
  ];
  for (const [cidr, reason] of cases) {
    const e = t.throws(() => Pool.parse(cidr as string));
    t.ok(e instanceof InvalidRangeError && e instanceof IpamError, `${String(cidr)} throws InvalidRangeError`);
    t.match(e, { code: 'InvalidRange', reason, name: 'InvalidRangeError' }, `${String(cidr)} is ${reason}`);
    t.ok((e as Error).message.includes(JSON.stringify(String(cidr))), "the message quotes the range");
  }
  t.match(t.throws(() => Pool.parse('10.0.0.0/31')), { message: /prefix \/31 is outside \/16 to \/30/ });
  t.match(t.throws(() => Pool.parse('fd00::/64')), { message: /IPv6/ });
});

t.test('contains and unleasable', async (t) => {
  const p = Pool.parse('10.1.2.0/24');
  t.ok(p.contains('10.1.2.0'));
  t.ok(p.contains('10.1.2.255'));
  t.ok(p.contains('10.1.2.77'));
  t.notOk(p.contains('10.1.3.0'));
  t.notOk(p.contains('10.1.1.255'));
  t.notOk(p.contains('nonsense'));
  t.notOk(p.contains('10.1.2.0/24'));
  const n = (s: string) => addressToInt(s)!;
  t.equal(p.unleasable(n('10.1.2.0')), 'network');
  t.equal(p.unleasable(n('10.1.2.1')), 'dom0');
  t.equal(p.unleasable(n('10.1.2.255')), 'broadcast');
  t.equal(p.unleasable(n('10.1.3.0')), 'outside');
  t.equal(p.unleasable(n('10.1.1.255')), 'outside');
  t.equal(p.unleasable(n('10.1.2.2')), undefined);
  t.equal(p.unleasable(n('10.1.2.254')), undefined);
});

t.test('address integers', async (t) => {
  t.equal(addressToInt('0.0.0.1'), 1);
  t.equal(addressToInt('255.255.255.255'), 0xffffffff);
  t.equal(addressToInt('1.2.3'), undefined);
  t.equal(addressToInt(7 as unknown as string), undefined);
  t.equal(intToAddress(0xac14d801), '172.20.216.1');
});

t.test('isUnicastMac', async (t) => {
  t.ok(isUnicastMac('00:16:3e:12:34:56'));
  t.ok(isUnicastMac('00:16:3E:AB:CD:EF'));
  t.notOk(isUnicastMac('01:00:5e:00:00:01'), 'multicast');
  t.notOk(isUnicastMac('00:16:3e:12:34'));
  t.notOk(isUnicastMac('00-16-3e-12-34-56'));
  t.notOk(isUnicastMac(5 as unknown as string));
});
