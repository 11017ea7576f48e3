// The simulator's own behaviour beyond what the driver uses: the words and
// statuses of the real tools, so other areas can rely on them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseList } from '../../src/xm/index.js';
import { FLAVOURS, SIM, sim, stateDir } from '../../sim/testing.js';

const [xm41, xm303, xl] = FLAVOURS as [(typeof FLAVOURS)[0], (typeof FLAVOURS)[0], (typeof FLAVOURS)[0]];
const CFG = 'name = "web"\nmemory = 64\nvcpus = 1\nkernel = "/boot/vmlinuz"\nvif = [ "mac=00:16:3e:00:00:07,ip=172.20.216.7,script=vif-route" ]\n';

/** `check(text)` runs create on a config file holding `text`. */
function creator(t: Parameters<typeof stateDir>[0], flavour: Record<string, string>) {
  const env = { ...flavour, XMSIM_STATE: stateDir(t) };
  const cfg = join(env.XMSIM_STATE, 'g.cfg');
  const check = (text: string) => {
    writeFileSync(cfg, text);
    return sim(env, ['create', cfg]);
  };
  return { env, check };
}

t.test('refuses to run without a state directory or with an unknown flavour', async (t) => {
  t.match(await sim({}, ['list']), { status: 2, stderr: /XMSIM_STATE/ });
  t.match(await sim({ XMSIM_STATE: stateDir(t), XMSIM_FLAVOR: 'xend' }, ['list']), { status: 2, stderr: /XMSIM_FLAVOR/ });
});

t.test('unknown subcommands, prefixes, usage', async (t) => {
  const dir = stateDir(t);
  t.match(await sim({ ...xm41.env, XMSIM_STATE: dir }, ['frobnicate']), { status: 1, stderr: 'Error: Subcommand frobnicate not found!\n' });
  t.match(await sim({ ...xm303.env, XMSIM_STATE: dir }, ['frobnicate']), { status: 1, stderr: 'Error: Sub Command frobnicate not found!\n' });
  t.match(await sim({ ...xl.env, XMSIM_STATE: dir }, ['frobnicate']), { status: 1 });
  t.match(await sim({ ...xm41.env, XMSIM_STATE: dir }, ['li']), { status: 0, stdout: /^Name/ });
  t.match(await sim({ ...xl.env, XMSIM_STATE: dir }, ['li']), { status: 1 });
  t.match(await sim({ ...xm41.env, XMSIM_STATE: dir }, ['destroy']), { status: 1, stderr: /requires 1 argument/ });
});

t.test('domid, domname, network-list and list -l in each flavour', async (t) => {
  for (const f of FLAVOURS) {
    const env = { ...f.env, XMSIM_STATE: stateDir(t) };
    const cfg = join(env.XMSIM_STATE, 'web.cfg');
    writeFileSync(cfg, CFG);
    t.equal((await sim(env, ['create', cfg])).status, 0, f.label);
    t.equal((await sim(env, ['domid', 'web'])).stdout, '1\n');
    t.equal((await sim(env, ['domname', '1'])).stdout, 'web\n');
    const nl = await sim(env, ['network-list', 'web']);
    t.match(nl.stdout, /^Idx BE .*\n0 +0 +00:16:3e:00:00:07 .*\/local\/domain\/0\/backend\/vif\/1\/0/);
    const long = (await sim(env, ['list', '-l', 'web'])).stdout;
    if (f.kind === 'xl') t.match(JSON.parse(long), [{ domid: 1, config: { c_info: { name: 'web' } } }]);
    else t.match(long, /^\(domain\s+\(domid 1\)\s+\(name web\)/);
    t.equal(parseList((await sim(env, ['list'])).stdout).length, 2);
    const dn = await sim(env, ['domname', '9']);
    t.equal(dn.status, f.kind === 'xl' || f === xm303 ? 1 : 3);
    t.match(dn.stderr, f.kind === 'xl' ? /Can't get domain name of domain id '9'/ : /Domain '9' does not exist/);
  }
});

t.test('Domain-0 cannot be destroyed or shut down', async (t) => {
  for (const f of FLAVOURS) {
    const env = { ...f.env, XMSIM_STATE: stateDir(t) };
    const d = await sim(env, ['destroy', 'Domain-0']);
    t.equal(d.status, 1);
    t.match(d.stderr, f.kind === 'xl' ? 'Not destroying domain 0' : 'Cannot destroy privileged domain');
    t.equal((await sim(env, ['shutdown', '0'])).status, 1);
  }
});

t.test('create: key=value arguments, like each tool', async (t) => {
  const xmEnv = { ...xm41.env, XMSIM_STATE: stateDir(t) };
  const cfg = join(xmEnv.XMSIM_STATE, 'g.cfg');
  writeFileSync(cfg, 'name = "a" + suffix\nmemory = 64\nkernel = "/k"\n');
  t.match(await sim(xmEnv, ['create', cfg, 'suffix=-x', 'memory=99']), { status: 0, stdout: 'Using config file "' + cfg + '".\nStarted domain a-x\n' });
  t.match(parseList((await sim(xmEnv, ['list'])).stdout)[1], { name: 'a-x', memory: 99 });
  const xlEnv = { ...xl.env, XMSIM_STATE: stateDir(t) };
  const cfg2 = join(xlEnv.XMSIM_STATE, 'g.cfg');
  writeFileSync(cfg2, CFG);
  t.match(await sim(xlEnv, ['create', cfg2, 'name="g9"', 'memory=77']), { status: 0, stdout: '', stderr: `Parsing config from ${cfg2}\n` });
  t.match(parseList((await sim(xlEnv, ['list'])).stdout)[1], { name: 'g9', memory: 77 });
  t.match(await sim(xlEnv, ['create', cfg2, 'name=g9']), { status: 1, stderr: /config parsing error near `g9'/ });
});

t.test("xl's grammar: escapes, lists, Python", async (t) => {
  const { check } = creator(t, xl.env);
  t.match(await check('name = "a\\qb"\nkernel = "/k"\n'), { status: 1, stderr: /invalid character after backlash/ });
  t.match(await check('name = "a"; kernel = "/k"\nmemory = 0x40\ndisk = [ "phy:/dev/a,xvda,w",\n "phy:/dev/b,xvdb,w", ]\n'), { status: 0 });
  t.match(await check('import os\n'), { status: 1, stderr: /config parsing error/ });
  t.match(await check('name = "b"\nkernel = "/k"\nmemory = "64"\n'), { status: 1, stderr: /wrong type/ });
  t.match(await check('name = "c"\n'), { status: 1, stderr: /no kernel specified/ });
  t.match(await check('kernel = "/k"\n'), { status: 1, stderr: 'Domain name must be specified.' });
});

t.test("xm's Python: errors and names", async (t) => {
  const { check, env } = creator(t, xm41.env);
  t.match(await check('name = "a b"\nkernel = "/k"\n'), { status: 1, stderr: 'Error: invalid vm name' });
  t.match(await check('name = "a"\n'), { status: 1, stderr: 'Error: No kernel specified' });
  t.match(await check('name = "a"\nkernel = "/k"\nraise ValueError("nope")\n'), { status: 1, stderr: 'Error: nope' });
  t.match(await sim(env, ['create', join(env.XMSIM_STATE, 'none.cfg')]), { status: 1, stderr: 'Error: Unable to open config file' });
});

t.test('state: the whole state as JSON, for tests to read', async (t) => {
  const { env, check } = creator(t, xl.env);
  t.equal((await check(CFG)).status, 0);
  t.equal((await sim(env, ['fault', 'destroy', '--fail', '2'])).status, 0);
  const st = await sim(env, ['state']);
  t.equal(st.status, 0, st.stderr);
  t.match(JSON.parse(st.stdout), {
    next_id: 2,
    domains: [{ name: 'web', domid: 1, memory: 64 }],
    faults: { destroy: { kind: 'fail', times: 2 } },
  });
  t.match(await sim(env, ['state', 'extra']), { status: 2, stderr: 'usage: xm-sim state\n' });
});

t.test('fault create --no-vif: create succeeds, the guest runs, no vif is asked for', async (t) => {
  const { env, check } = creator(t, xl.env);
  t.match(await sim(env, ['fault', 'list', '--no-vif']), { status: 2, stderr: /--no-vif is a fault of create only/ });
  t.equal((await sim(env, ['fault', 'create', '--no-vif', '--times', '1'])).status, 0);
  t.match(JSON.parse((await sim(env, ['state'])).stdout), { faults: { create: { kind: 'novif', times: 1 } } });
  t.equal((await check(CFG)).status, 0);
  const st = JSON.parse((await sim(env, ['state'])).stdout) as { domains: Array<{ name: string; vif: boolean }>; faults: object };
  t.match(st.domains.find((d) => d.name === 'web'), { vif: false }, 'recorded without a vif');
  t.same(st.faults, {}, 'used up');
});

t.test('fault create --delay with --no-vif: both; --no-vif goes with nothing else', async (t) => {
  const { env } = creator(t, xl.env);
  t.match(await sim(env, ['fault', 'create', '--fail', '1', '--no-vif']), { status: 2, stderr: /--no-vif goes alone or with --delay/ });
  t.equal((await sim(env, ['fault', 'create', '--delay', '50', '--no-vif', '--times', '1'])).status, 0);
  t.match(JSON.parse((await sim(env, ['state'])).stdout), { faults: { create: { kind: 'delay', ms: 50, novif: true, times: 1 } } });
  const cfg = join(env.XMSIM_STATE, 'g.cfg');
  writeFileSync(cfg, CFG);
  t.equal((await sim(env, ['create', cfg])).status, 0);
  t.match(JSON.parse((await sim(env, ['state'])).stdout), { domains: [{ name: 'web', vif: false }], faults: {} }, 'made, without a vif');
});

t.test('shutdown-linger: a guest that has shut down stays listed, shut down, and -w returns before it goes', async (t) => {
  for (const f of [xl, xm41]) {
    const { env, check } = creator(t, f.env);
    t.equal((await check(CFG)).status, 0);
    t.equal((await sim(env, ['set', 'shutdown-delay', '100'])).status, 0);
    t.equal((await sim(env, ['set', 'shutdown-linger', '5000'])).status, 0);
    t.match(JSON.parse((await sim(env, ['state'])).stdout), { shutdown_delay_ms: 100, shutdown_linger_ms: 5000 });
    t.equal((await sim(env, ['shutdown', '-w', 'web'])).status, 0, `${f.label}: shutdown -w`);
    const listed = parseList((await sim(env, ['list'])).stdout).find((d) => d.name === 'web');
    t.match(listed, { id: 1, state: 'shutdown', flags: '---s--' }, `${f.label}: listed, shut down`);
    t.match(await sim(env, ['domid', 'web']), { status: 0, stdout: '1\n' }, 'with its id');
    const gone = async () => !parseList((await sim(env, ['list'])).stdout).some((d) => d.name === 'web');
    const until = Date.now() + 15_000;
    while (!(await gone()) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    t.ok(await gone(), `${f.label}: gone after the linger`);
  }
  t.match(await sim(creator(t, xl.env).env, ['set', 'shutdown-linger', 'x']), { status: 2, stderr: /usage/ });
});
