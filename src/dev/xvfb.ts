// A headless X screen for the window's tests and its bench, on a display
// that answers this process. Two things can make a display that looks free
// unusable: another suite starting a screen at the same moment (xvfb-run -a
// looks for lock files from a shell, and two can pick one display), and an
// X server of another network namespace's sharing, which owns the abstract
// socket "@/tmp/.X11-unix/X<n>" that clients try first while this /tmp shows
// no lock (Xvfb -displayfd, which starts at :0, kept landing there on this
// shared machine). So: a random display far from :0, Xvfb's own lock on it,
// and the screen used only once an X connection set-up to it, made as a
// client makes it, is accepted.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

export interface Screen {
  /** The DISPLAY value, ":N". */
  readonly display: string;
  stop(): Promise<void>;
}

const FIRST = 200;
const LAST = 30_000;
const TRIES = 8;

/**
 * Starts Xvfb with one screen of `geometry` (no TCP, no auth file: only local
 * clients, of any user, which is what a test that runs the window as another
 * user needs).
 */
export async function startScreen(geometry = '1040x640x24', timeoutMs = 30_000): Promise<Screen> {
  const why: string[] = [];
  for (let i = 0; i < TRIES; i++) {
    const n = FIRST + Math.floor(Math.random() * (LAST - FIRST));
    // -noreset: our probe is the server's first client, and its leaving would
    // otherwise start a server reset just as the window connects.
    const x = spawn('Xvfb', [`:${n}`, '-screen', '0', geometry, '-nolisten', 'tcp', '-noreset'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    x.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const stop = () => stopServer(x);
    const ok = await ready(x, n, timeoutMs);
    if (ok === true) return { display: `:${n}`, stop };
    await stop();
    why.push(`:${n}: ${ok}${log ? ` (${log.trim().split('\n').at(-1)})` : ''}`);
  }
  throw new Error(`Xvfb: no usable display in ${TRIES} tries:\n${why.join('\n')}`);
}

/** true once display `n` accepts a client; else why not. */
async function ready(x: ChildProcess, n: number, timeoutMs: number): Promise<true | string> {
  const exited = new Promise<string>((r) => x.once('exit', (code, signal) => r(`Xvfb exited (${signal ?? code})`)));
  const spawnFailed = new Promise<string>((r) => x.once('error', (e) => r(e.message)));
  const end = Date.now() + timeoutMs;
  for (;;) {
    const answer = await Promise.race([accepts(n), exited, spawnFailed]);
    if (answer === true) return true;
    if (answer !== 'no server yet') return answer;
    if (Date.now() > end) return `no answer in ${timeoutMs} ms`;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Whether display `n` accepts an X connection from us, asked the way Xlib
 * and xcb ask: the abstract socket first, else the file in /tmp/.X11-unix.
 * The set-up request carries no authorization; the reply's first byte is 1
 * when the server accepts it.
 */
async function accepts(n: number): Promise<true | string> {
  const abstract = await setUp(`\0/tmp/.X11-unix/X${n}`);
  if (abstract !== 'no server yet') return abstract === 1 ? true : `the server at display :${n} refused us (${abstract})`;
  const file = await setUp(`/tmp/.X11-unix/X${n}`);
  if (file === 'no server yet') return file;
  return file === 1 ? true : `the server at display :${n} refused us (${file})`;
}

/** The first byte of the server's answer to a set-up request, or 'no server yet'. */
function setUp(path: string): Promise<number | 'no server yet'> {
  return new Promise((resolve) => {
    const s = connect({ path });
    const done = (v: number | 'no server yet') => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(5000, () => done('no server yet'));
    s.on('error', () => done('no server yet'));
    s.on('connect', () => {
      // 'l': little-endian; protocol 11.0; no authorization name or data.
      s.write(Buffer.from([0x6c, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    });
    s.once('data', (d: Buffer) => done(d[0]!));
  });
}

async function stopServer(x: ChildProcess): Promise<void> {
  if (x.exitCode !== null || x.signalCode !== null) return;
  const gone = new Promise((r) => x.once('exit', r));
  x.kill('SIGTERM');
  const t = setTimeout(() => x.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(t);
}
