// A spinner on stderr while a long call runs; nothing unless stderr is a
// terminal, so pipes and logs stay clean.
const FRAMES = ['|', '/', '-', '\\'];

export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): () => void {
  if (!stream.isTTY) return () => undefined;
  const start = Date.now();
  let i = 0;
  const draw = () => stream.write(`\r${FRAMES[i++ % FRAMES.length]} ${label} ${Math.floor((Date.now() - start) / 1000)}s`);
  draw();
  const timer = setInterval(draw, 100);
  timer.unref();
  return () => {
    clearInterval(timer);
    stream.write('\r\x1b[K');
  };
}
