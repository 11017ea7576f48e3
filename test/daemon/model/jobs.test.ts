// Jobs on their own: one completion, progress that never goes down and is
// announced at most four times a second (the last value never lost), an
// end time guessed from the rate, cancel through the AbortSignal.
import t from 'tap';
import { Jobs, PROGRESS_INTERVAL_MS, type Job } from '../../../src/daemon/model/jobs.js';

const tick = () => new Promise((r) => setImmediate(r));

t.test('a job completes once, then is gone', async (t) => {
  const jobs = new Jobs();
  const seen: string[] = [];
  jobs.on('jobNew', (j) => seen.push(`new ${j.id}`));
  jobs.on('jobCompleted', (j, ok, e) => seen.push(`done ${j.id} ${ok} ${(e as Error | undefined)?.message ?? ''}`));
  let finish!: () => void;
  const a = jobs.start('create-image', [{ kind: 'image', name: 'a' }], 1000, () => new Promise<void>((r) => (finish = r)));
  const b = jobs.start('create-image', [{ kind: 'image', name: 'b' }], 0, async () => {
    throw new Error('no');
  });
  t.same([a.id, b.id], [1, 2], 'numbered from 1');
  t.equal(a.startedByUid, 1000);
  t.ok(a.startedAt > 1_600_000_000_000_000, 'startedAt in µs');
  t.equal(jobs.get(1), a);
  t.ok(a.cancelable);
  await tick();
  await tick();
  t.same(seen, ['new 1', 'new 2', 'done 2 false no']);
  t.equal(jobs.get(2), undefined, 'a completed job is gone');
  finish();
  await tick();
  t.same(seen.slice(3), ['done 1 true ']);
  t.equal(a.progress, 1, 'success ends at 1');
  t.notOk(a.cancelable);
  t.same(jobs.list(), []);
  a.finish(false, new Error('again'));
  t.equal(seen.length, 4, 'never completes twice');
});

t.test('progress: never down, at most one announcement per interval, the last one kept', async (t) => {
  let now = 1_000_000;
  const jobs = new Jobs(() => now);
  const changed: number[] = [];
  jobs.on('jobChanged', (j) => changed.push(j.progress));
  let job!: Job;
  let finish!: () => void;
  jobs.start('create-image', [], 0, (j) => {
    job = j;
    return new Promise<void>((r) => (finish = r));
  });
  await tick();
  t.notOk(job.progressValid);
  t.equal(job.expectedEndTime, 0);
  job.report(0.01);
  t.same(changed, [0.01], 'the first report goes out at once');
  t.equal(job.expectedEndTime, 0, 'too early to guess an end');
  now += 10;
  job.report(0.02);
  job.report(0.015);
  now += 10;
  job.report(0.1);
  t.same(changed, [0.01], 'held back within the interval');
  t.equal(job.progress, 0.1, 'but read at once');
  t.equal(job.expectedEndTime, 1_000_000 * 1000 + 20 * 1000 * 10, 'the end from the rate so far (µs)');
  await new Promise((r) => setTimeout(r, PROGRESS_INTERVAL_MS + 50));
  t.same(changed, [0.01, 0.1], 'the last value is announced when the interval ends');
  now += PROGRESS_INTERVAL_MS;
  job.report(0.5);
  t.same(changed, [0.01, 0.1, 0.5]);
  now += 10;
  job.report(1); // the build's own last step, held back by the interval
  t.same(changed, [0.01, 0.1, 0.5]);
  finish();
  await tick();
  t.same(changed, [0.01, 0.1, 0.5, 1], 'the held-back 1 is announced before Completed, once');
});

t.test('progress: a report that comes after its held value fell due announces once', async (t) => {
  // A busy event loop runs a report before the timer holding the previous value.
  let now = 1_000_000;
  const jobs = new Jobs(() => now);
  const changed: number[] = [];
  jobs.on('jobChanged', (j) => changed.push(j.progress));
  let job!: Job;
  jobs.start('create-image', [], 0, (j) => {
    job = j;
    return new Promise<void>(() => undefined);
  });
  await tick();
  job.report(0.1);
  now += 10;
  job.report(0.2); // held, its timer set
  now += PROGRESS_INTERVAL_MS;
  job.report(0.3); // due: goes out at once, with the held 0.2 folded in
  t.same(changed, [0.1, 0.3]);
  await new Promise((r) => setTimeout(r, PROGRESS_INTERVAL_MS + 50));
  t.same(changed, [0.1, 0.3], 'the held value\'s timer does not announce again');
});

t.test('cancel reaches the work through its signal', async (t) => {
  const jobs = new Jobs();
  const done: Array<[boolean, string]> = [];
  jobs.on('jobCompleted', (_j, ok, e) => done.push([ok, (e as Error).message]));
  const job = jobs.start('create-image', [], 0, (j) => new Promise<void>((_r, reject) => j.signal.addEventListener('abort', () => reject(new Error('cancelled')))));
  await tick();
  job.cancel();
  await tick();
  await tick();
  t.same(done, [[false, 'cancelled']]);
});

t.test('cancelAll waits for every job to complete, bounded', async (t) => {
  const jobs = new Jobs();
  jobs.start('x', [], 0, (j) => new Promise<void>((_r, reject) => j.signal.addEventListener('abort', () => setTimeout(() => reject(new Error('stopped')), 20))));
  jobs.start('y', [], 0, () => new Promise<void>(() => undefined)); // deaf
  await tick();
  const began = Date.now();
  await jobs.cancelAll(200);
  t.ok(Date.now() - began >= 150, 'waited for the deaf one up to the bound');
  t.equal(jobs.list().length, 1, 'only the deaf one is left');
  await new Jobs().cancelAll(10);
});
