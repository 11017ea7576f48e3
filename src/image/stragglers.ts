// The processes of a killed build that outlived the daemon: domud's unit
// has KillMode=process (so a toolstack call in flight finishes when domud
// dies), which leaves debootstrap, dpkg and maintainer scripts running in
// a build directory that the next start-up removes. They must end first:
// one that mounts /proc, or binds /dev, in the tree while it is being
// removed would send the removal into them.
import { readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

const inside = (dir: string) => (p: string) => p === dir || p.startsWith(`${dir}/`);

/** The process group of `pid` (stat(5) field 5), or null when it is gone. */
function groupOf(pid: string, proc: string): number | null {
  try {
    const stat = readFileSync(join(proc, pid, 'stat'), 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

/**
 * The process groups working in `dir`: those of processes whose command
 * line names a path in it (debootstrap's target) or whose root is in it
 * (what debootstrap runs chrooted). A build's tools run in one group of
 * their own (src/image/run.ts), so the group is the whole build. Never our
 * own group; a shell that merely has its working directory there is not
 * one of them.
 */
export function groupsWorkingIn(path: string, proc = '/proc'): number[] {
  const dir = realpathSync(path);
  const within = inside(dir);
  const own = groupOf('self', proc);
  const groups = new Set<number>();
  for (const pid of readdirSync(proc)) {
    if (!/^[0-9]+$/.test(pid)) continue;
    let hit = false;
    try {
      hit = readFileSync(join(proc, pid, 'cmdline'), 'utf8').split('\0').some(within);
      if (!hit) hit = within(readlinkSync(join(proc, pid, 'root')));
    } catch {
      continue; // gone, or not ours to read
    }
    const g = hit ? groupOf(pid, proc) : null;
    if (g !== null && g > 1 && g !== own) groups.add(g);
  }
  return [...groups];
}

/** SIGKILLs the groups working in `dir` and waits (bounded) until none is left; returns the groups it killed. */
export async function endGroupsWorkingIn(dir: string, waitMs = 5000): Promise<number[]> {
  const groups = groupsWorkingIn(dir);
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const until = Date.now() + waitMs;
  while (groups.length > 0 && groupsWorkingIn(dir).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return groups;
}
