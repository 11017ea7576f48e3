// What a killed debootstrap leaves mounted in its target (it mounts /proc and
// /sys there, and binds /dev when it cannot make device nodes): those must
// be unmounted before the tree is removed, or a recursive removal would walk
// into the host's /dev.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { ImageFailedError } from './errors.js';
import { runTool } from './run.js';

/** mountinfo(5) escapes space, tab, newline and backslash as octal. */
function unescape(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or below `dir` (an absolute, resolved path), deepest first. */
export function mountsUnder(dir: string, mountinfo = '/proc/self/mountinfo'): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readFileSync(mountinfo, 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescape)
    .filter((p) => p === dir || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts everything below `dir`; throws, having removed nothing, when something stays mounted. */
export async function unmountUnder(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const dir = realpathSync(path);
  for (const p of mountsUnder(dir)) {
    const r = await runTool('umount', [p], { step: 'umount' });
    // busy (a process still in the chroot): detach it now, it goes when they do
    if (r.status !== 0) await runTool('umount', ['--lazy', p], { step: 'umount' });
  }
  const left = mountsUnder(dir);
  if (left.length > 0) throw new ImageFailedError('cleanup', `still mounted, not removing ${dir}: ${left.join(', ')}`);
}
