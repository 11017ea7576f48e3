// list, show, create, start, shutdown, destroy.
import { readFileSync } from 'node:fs';
import { bytes, uint, type Values } from '../args.js';
import type { DomainInfo, Domud, Options } from '../domud.js';
import { UsageError } from '../exit.js';
import { fields, isoTime, json, listing } from '../output.js';
import { progress } from '../progress.js';

export interface Context {
  readonly domud: Domud;
  readonly json: boolean;
  readonly write: (s: string) => void;
}

export async function list(c: Context): Promise<void> {
  const columns = [{ title: 'NAME' }, { title: 'ID', right: true }, { title: 'STATE' }, { title: 'ADDRESS' }];
  c.write(listing(await c.domud.listDomains(), c.json, columns, (r) => [r.name, r.id < 0 ? '-' : String(r.id), r.state, r.address], ['domain', 'domains']));
}

function showDomain(c: Context, d: DomainInfo): void {
  if (c.json) return c.write(json(d));
  c.write(
    fields([
      ['Name', d.name],
      ['State', d.state],
      ['Domain ID', d.id < 0 ? '-' : String(d.id)],
      ['Address', d.address],
      ['MAC', d.mac],
      ['Vif', d.vif || '-'],
      ['Memory', `${d.memoryMiB} MiB`],
      ['VCPUs', String(d.vcpus)],
      ['Created', isoTime(d.createdAt)],
      ['Object', d.path],
    ]),
  );
}

export async function show(c: Context, name: string): Promise<void> {
  showDomain(c, await c.domud.domain(await c.domud.getDomain(name)));
}

export async function create(c: Context, name: string, v: Values): Promise<void> {
  const opts: Options = {};
  if (v.memory !== undefined) opts.memory = uint('memory', v.memory as string);
  if (v.vcpus !== undefined) opts.vcpus = uint('vcpus', v.vcpus as string);
  for (const k of ['kernel', 'ramdisk', 'extra', 'root', 'address', 'mac', 'image'] as const) if (v[k] !== undefined) opts[k] = v[k] as string;
  if (v.disk !== undefined) opts.disks = v.disk as string[];
  if (v['disk-size'] !== undefined) opts.disk_size = bytes('disk-size', v['disk-size'] as string);
  if (v['ssh-key'] !== undefined) opts.ssh_key = sshKey(v['ssh-key'] as string);
  const done = progress(`creating ${name}`);
  let path;
  try {
    path = await c.domud.create(name, opts);
  } finally {
    done();
  }
  showDomain(c, await c.domud.domain(path));
}

/** The one public key in FILE (comments and blank lines aside); domud checks the key itself. */
function sshKey(file: string): string {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--ssh-key: cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const keys = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (keys.length !== 1) throw new UsageError(`--ssh-key: ${file} holds ${keys.length} keys; give a file with one (e.g. ~/.ssh/id_ed25519.pub)`);
  return keys[0]!;
}

export async function start(c: Context, name: string): Promise<void> {
  await c.domud.start(name);
  if (c.json) c.write(json({ name, started: true }));
}

export async function shutdown(c: Context, name: string, v: Values): Promise<void> {
  const timeout = v.timeout === undefined ? undefined : uint('timeout', v.timeout as string);
  const wait = v.wait === true || timeout !== undefined;
  const done = wait ? progress(`waiting for ${name} to shut down`) : () => undefined;
  try {
    await c.domud.shutdown(name, wait, timeout);
  } finally {
    done();
  }
  if (c.json) c.write(json({ name, shutdown: wait ? 'stopped' : 'requested' }));
}

export async function destroy(c: Context, name: string): Promise<void> {
  await c.domud.destroy(name);
  if (c.json) c.write(json({ name, destroyed: true }));
}
