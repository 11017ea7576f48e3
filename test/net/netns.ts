// Test network namespaces: each test gets its own, with veth pairs named like
// Xen's backend vifs (vif<N>.0, peer dU<N>), and the namespace is deleted in
// teardown whether the test passed or not. The kernel's view is read back
// with `ip -n <ns> -j ...`, never through the code under test.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Test } from 'tap';

const execFileP = promisify(execFile);
/** Every namespace this process made, to check that none outlives its test. */
const made = new Set<string>();

export async function sh(argv: string[], input?: string): Promise<string> {
  if (input === undefined) return (await execFileP(argv[0]!, argv.slice(1), { maxBuffer: 64 << 20 })).stdout;
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0]!, argv.slice(1), { maxBuffer: 64 << 20 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
    child.stdin!.end(input);
  });
}

export interface KRoute {
  dst: string;
  dev?: string;
  prefsrc?: string;
  metric?: number;
  type?: string;
}

export class Netns {
  constructor(readonly name: string) {}

  /** A fresh namespace, forwarding off, removed at t's teardown. */
  static async create(t: Test): Promise<Netns> {
    const ns = new Netns(`domud-test-${randomBytes(6).toString('hex')}`);
    await sh(['ip', 'netns', 'add', ns.name]);
    made.add(ns.name);
    t.teardown(() => ns.destroy());
    // A new namespace copies IPv4 settings from the host's; a CI host running
    // Docker has forwarding on. Start every test from a clean dom0's state.
    if ((await ns.ipForward()) !== '0') await ns.exec(['tee', '/proc/sys/net/ipv4/ip_forward'], '0\n');
    return ns;
  }

  async destroy(): Promise<void> {
    await sh(['ip', 'netns', 'del', this.name]).catch(() => undefined);
  }

  ip(...args: string[]): Promise<string> {
    return sh(['ip', '-n', this.name, ...args]);
  }

  async json<T = Record<string, unknown>>(...args: string[]): Promise<T[]> {
    return JSON.parse(await this.ip('-j', ...args)) as T[];
  }

  /** A command run inside the namespace. */
  exec(argv: string[], input?: string): Promise<string> {
    return sh(['ip', 'netns', 'exec', this.name, ...argv], input);
  }

  /** veth pair vif<n>.0 / dU<n>, both down, like a fresh netback vif. */
  async vif(n: number): Promise<string> {
    await this.ip('link', 'add', `vif${n}.0`, 'type', 'veth', 'peer', 'name', `dU${n}`);
    return `vif${n}.0`;
  }

  async routes(): Promise<KRoute[]> {
    return this.json<KRoute>('route', 'show', 'table', 'main');
  }

  /** Host routes on vif devices, as "dst dev src metric" strings for easy comparison. */
  async vifRoutes(): Promise<string[]> {
    return (await this.routes())
      .filter((r) => r.dev?.startsWith('vif'))
      .map((r) => `${r.dst} ${r.dev} ${r.prefsrc ?? '-'} ${r.metric ?? 0}`)
      .sort();
  }

  async link(dev: string): Promise<{ up: boolean; inet: string[] } | undefined> {
    const links = await this.json<{ ifname: string; flags: string[]; addr_info: Array<{ family: string; local: string; prefixlen: number }> }>(
      'addr',
      'show',
    );
    const l = links.find((x) => x.ifname === dev);
    if (l === undefined) return undefined;
    return {
      up: l.flags.includes('UP'),
      inet: l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
    };
  }

  async proxyArp(dev: string): Promise<string> {
    return (await this.exec(['cat', `/proc/sys/net/ipv4/conf/${dev}/proxy_arp`])).trim();
  }

  async ipForward(): Promise<string> {
    return (await this.exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).trim();
  }

  /** Interfaces (and all/default) whose IPv4 forwarding is on. */
  async forwardingOn(): Promise<string[]> {
    const conf = await this.json<{ interface: string; forwarding: boolean | string }>('-4', 'netconf', 'show');
    return conf.filter((c) => c.forwarding === true || c.forwarding === 'on').map((c) => c.interface);
  }
}

/** A subtest with its own namespace; ip_forward must read 0 in it before and after the body. */
export function nsTest(t: Test, name: string, fn: (t: Test, ns: Netns) => Promise<void>): Promise<void> {
  return t.test(name, async (t) => {
    const ns = await Netns.create(t);
    t.equal(await ns.ipForward(), '0', 'ip_forward is 0 before');
    await fn(t, ns);
    t.equal(await ns.ipForward(), '0', 'ip_forward is 0 after');
    t.same(await ns.forwardingOn(), [], 'no interface forwards after');
  }) as unknown as Promise<void>;
}

/** Namespaces made by this process that exist now; none should outlive its test. */
export async function leftoverNamespaces(): Promise<string[]> {
  const list = await sh(['ip', '-j', 'netns', 'list']);
  if (list.trim() === '') return [];
  return (JSON.parse(list) as Array<{ name: string }>).map((n) => n.name).filter((n) => made.has(n));
}

// `npx tap test/net` runs every file here; run directly, this helper checks itself.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { default: t } = await import('tap');
  t.test('a test namespace, with its vifs, is gone once its test ends', async (t) => {
    let name = '';
    await t.test('inner', async (t) => {
      const ns = await Netns.create(t);
      name = ns.name;
      t.ok((await leftoverNamespaces()).includes(name), 'exists during the test');
      t.equal(await ns.vif(4), 'vif4.0');
      t.same(await ns.link('vif4.0'), { up: false, inet: [] });
      t.equal(await ns.link('vif5.0'), undefined);
    });
    t.notOk((await leftoverNamespaces()).includes(name), 'removed by teardown');
    await new Netns(name).destroy(); // destroying twice is harmless
  });
}
