// A headless X screen for the window's tests and its bench. Xvfb picks a free
// display itself (-displayfd), taking its lock atomically, and names it only
// once it accepts clients; xvfb-run -a looks for lock files from a shell, so
// two suites starting at once could both pick one display and one of them
// then find no screen there.
import { spawn } from 'node:child_process';

export interface Screen {
  /** The DISPLAY value, ":N". */
  readonly display: string;
  stop(): Promise<void>;
}

/**
 * Starts Xvfb with one screen of `geometry` (no TCP, no auth file: only local
 * clients, of any user, which is what a test that runs the window as another
 * user needs).
 */
export function startScreen(geometry = '1040x640x24', timeoutMs = 30_000): Promise<Screen> {
  const x = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', geometry, '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let log = '';
  x.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const stop = async (): Promise<void> => {
    if (x.exitCode !== null || x.signalCode !== null) return;
    const gone = new Promise((r) => x.once('exit', r));
    x.kill('SIGTERM');
    const t = setTimeout(() => x.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`Xvfb: ${why}${log ? `:\n${log}` : ''}`)));
    };
    const timer = setTimeout(() => fail(`no display in ${timeoutMs} ms`), timeoutMs);
    x.on('error', (e) => fail(e.message));
    x.on('exit', (code, signal) => fail(`exited (${signal ?? code}) before it named a display`));
    (x.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      x.removeAllListeners('exit');
      resolve({ display: `:${m[1]}`, stop });
    });
  });
}
