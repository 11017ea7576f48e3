// One real guest image per machine and per version of domud's image code:
// the real-image test (npm run test:images) leaves here the image it
// checked, and the real-Xen run (npm run test:xen) boots a guest from it,
// building one the same way only when none is here. CI runs both and so
// pays for one debootstrap, not two. Plain JavaScript: test/xen's scripts
// run it with node from dist/, the tap suites through their loader.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** debootstrap's package cache and the built images live under here. */
export const CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'domud', 'images');
const BUILT = join(CACHE, 'built');

/**
 * The one recipe for the published image, so that whichever builds it
 * builds the same thing: buildImage's options for `suite` in `dir`, with
 * debootstrap's package cache here.
 */
export function buildOptions(suite, dir) {
  mkdirSync(join(CACHE, 'debootstrap'), { recursive: true });
  return { dir, name: suite, suite, size: 2 * 1024 ** 3, cacheDir: join(CACHE, 'debootstrap') };
}

/** What the image depends on: the suite and src/image, where domud builds and customises it. */
export function builderKey(suite) {
  const h = createHash('sha256').update(`${suite}\n`);
  const dir = join(ROOT, 'src', 'image');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest('hex').slice(0, 16);
}

/** The published image of `suite` built by the current code: { path, kernel }, or null. */
export function builtImage(suite) {
  const meta = join(BUILT, `${suite}.json`);
  if (!existsSync(meta)) return null;
  const m = JSON.parse(readFileSync(meta, 'utf8'));
  const path = join(BUILT, `${suite}.img`);
  return m.key === builderKey(suite) && existsSync(path) ? { path, kernel: m.kernel } : null;
}

/** Copies a built image in (sparse, as a guest's copy is), then says which code built it. */
export function publish(suite, image, kernel) {
  mkdirSync(BUILT, { recursive: true });
  const meta = join(BUILT, `${suite}.json`);
  const path = join(BUILT, `${suite}.img`);
  rmSync(meta, { force: true });
  execFileSync('cp', ['--sparse=always', image, `${path}.part`]);
  renameSync(`${path}.part`, path);
  writeFileSync(meta, `${JSON.stringify({ key: builderKey(suite), kernel })}\n`);
  return { path, kernel };
}
