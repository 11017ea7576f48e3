// Progress on stderr while a long call or job runs: a spinner, or a bar once
// the fraction done is known. Nothing unless stderr is a terminal, so pipes
// and logs stay clean.
const FRAMES = ['|', '/', '-', '\\'];
const WIDTH = 24;

export interface Progress {
  /** The fraction done, 0 to 1, or null while it is not known. */
  set(fraction: number | null): void;
  /** Clears the line. */
  done(): void;
}

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { set: () => undefined, done: () => undefined };
  const start = Date.now();
  let i = 0;
  let fraction: number | null = null;
  const draw = () => {
    const s = Math.floor((Date.now() - start) / 1000);
    const elapsed = s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
    if (fraction === null) return void stream.write(`\r${FRAMES[i++ % FRAMES.length]} ${label} ${elapsed}`);
    const filled = Math.round(fraction * WIDTH);
    stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${label} ${elapsed}\x1b[K`);
  };
  draw();
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    set(f) {
      fraction = f === null ? null : Math.min(1, Math.max(0, f));
      draw();
    },
    done() {
      clearInterval(timer);
      stream.write('\r\x1b[K');
    },
  };
}

/** A spinner for a call whose progress is not known; returns what clears it. */
export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): () => void {
  const p = progressBar(label, stream);
  return () => p.done();
}
