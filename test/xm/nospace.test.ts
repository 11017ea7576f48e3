// writeGuestConfig on a full file system: NoSpaceError naming the directory,
// no file left behind, an older config unchanged; it works again once there
// is room. On a real tmpfs (needs root).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { NoSpaceError, renderGuestConfig, writeGuestConfig } from '../../src/xm/index.js';
import { FILLER_NAME, tmpfs } from '../support/tmpfs.js';
import { guestSpec } from './fixtures/spec.js';

const spec = guestSpec;

const listing = (dir: string) => readdirSync(dir).filter((f) => f !== FILLER_NAME).sort();

t.test('no room for the data', async (t) => {
  const fs = tmpfs(t, 'size=64k');
  const path = await writeGuestConfig(fs.dir, spec);
  fs.fill();
  for (const durable of [true, false]) {
    const e = await writeGuestConfig(fs.dir, { ...spec, memory: 256 }, { durable }).catch((e: unknown) => e);
    t.type(e, NoSpaceError, `durable: ${durable}`);
    t.equal((e as NoSpaceError).code, 'NoSpace');
    t.equal((e as NoSpaceError).directory, fs.dir);
    t.equal((e as NoSpaceError).errno, 'ENOSPC');
    t.match((e as Error).message, `no space left in ${fs.dir} (file system full): the guest config was not written`);
    t.equal(((e as Error).cause as { code?: string }).code, 'ENOSPC');
    t.same(listing(fs.dir), ['guest1.cfg'], 'no temporary file left');
    t.equal(readFileSync(path, 'utf8'), renderGuestConfig(spec), 'the older config is unchanged');
  }
  fs.free();
  await writeGuestConfig(fs.dir, { ...spec, memory: 256 });
  t.match(readFileSync(path, 'utf8'), /memory = 256/, 'written once there is room');
});

t.test('no inode left for the temporary file', async (t) => {
  const fs = tmpfs(t, 'size=1m,nr_inodes=8');
  // Spend the inodes, not the blocks: empty files until the file system says no.
  let n = 0;
  try {
    for (;;) writeFileSync(join(fs.dir, `empty${n++}`), '', { flag: 'wx' });
  } catch (e) {
    t.equal((e as { code?: string }).code, 'ENOSPC', `${n - 1} files took every inode`);
  }
  const before = listing(fs.dir);
  await t.rejects(writeGuestConfig(fs.dir, spec), { code: 'NoSpace', directory: fs.dir, errno: 'ENOSPC' });
  t.same(listing(fs.dir), before, 'nothing written');
});

t.test('other failures stay what they were', async (t) => {
  await t.rejects(writeGuestConfig(join(t.testdir(), 'missing'), spec), { code: 'ENOENT' });
});
