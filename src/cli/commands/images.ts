// image list, show, create, remove.
import { bytes, type Values } from '../args.js';
import type { ImageInfo, Options } from '../domud.js';
import { CliError, exitCodeFor } from '../exit.js';
import { type JobEnd, Jobs } from '../jobs.js';
import { fields, isoTime, json, listing } from '../output.js';
import { progressBar } from '../progress.js';
import type { Context } from './domains.js';

/** Bytes as the largest power-of-1024 unit that keeps a whole number or one decimal. */
export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

export async function list(c: Context): Promise<void> {
  const columns = [{ title: 'NAME' }, { title: 'SUITE' }, { title: 'STATE' }, { title: 'SIZE', right: true }, { title: 'CREATED' }];
  c.write(listing(await c.domud.listImages(), c.json, columns, (r) => [r.name, r.suite || '-', r.state, humanSize(r.size), isoTime(r.createdAt)], ['image', 'images']));
}

function showImage(c: Context, i: ImageInfo): void {
  if (c.json) return c.write(json(i));
  c.write(
    fields([
      ['Name', i.name],
      ['Suite', i.suite || '-'],
      ['State', i.state],
      ['Size', humanSize(i.size)],
      ['Created', isoTime(i.createdAt)],
      ['File', i.file || '-'],
      ['Object', i.path],
    ]),
  );
}

export async function show(c: Context, name: string): Promise<void> {
  showImage(c, await c.domud.image(await c.domud.getImage(name)));
}

export async function create(c: Context, name: string, v: Values): Promise<void> {
  const opts: Options = {};
  for (const k of ['suite', 'mirror'] as const) if (v[k] !== undefined) opts[k] = v[k] as string;
  if (v.size !== undefined) opts.size = bytes('size', v.size as string);
  if (v.package !== undefined) opts.packages = v.package as string[];
  if (v['no-wait'] === true) {
    const job = await c.domud.createImage(name, opts);
    return c.write(c.json ? json({ name, job }) : `${job}\n`);
  }
  const jobs = await Jobs.watch(c.domud.bus);
  const job = await c.domud.createImage(name, opts);
  const bar = progressBar(`building ${name}`);
  // Ctrl-C cancels the build, as it would a program that builds in the
  // foreground; the job's Completed then says so.
  const cancel = () => void c.domud.cancelJob(job).catch(() => undefined);
  process.once('SIGINT', cancel);
  let end;
  try {
    const now = await c.domud.jobProgress(job);
    if (now !== null) bar.set(now);
    end = await jobs.follow(job, (f) => bar.set(f));
  } finally {
    process.removeListener('SIGINT', cancel);
    bar.done();
  }
  if (!end.success) throw jobFailure(`building ${name}`, end);
  showImage(c, await c.domud.image(await c.domud.getImage(name)));
}

/**
 * A failed job's Completed message ("<error name>: <message>", as a call
 * would have failed) as domuctl reports any error: the first line with the
 * name, and the exit status of that name; the lines after it (the tail of a
 * build's output) follow, indented.
 */
export function jobFailure(what: string, end: JobEnd): CliError {
  const m = /^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+): ([\s\S]*)$/.exec(end.message);
  const [errorName, text] = m ? [m[1]!, m[2]!] : ['org.freedesktop.DBus.Error.Failed', end.message];
  const [first, ...rest] = text.split('\n');
  const more = rest.filter((l) => l.trim() !== '').map((l) => `\n  ${l}`).join('');
  return new CliError(`${what} failed: ${first} (${errorName})${more}`, exitCodeFor(errorName));
}

export async function remove(c: Context, name: string): Promise<void> {
  await c.domud.removeImage(name);
  if (c.json) c.write(json({ name, removed: true }));
}
