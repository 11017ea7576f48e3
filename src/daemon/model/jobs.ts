// Jobs: long work that a call starts and returns from at once (udisks2's
// Job, machined's Operation). A job runs one function, reports its progress,
// can be cancelled through the AbortSignal it hands that function, and
// completes exactly once; then it is forgotten. Nothing here knows D-Bus:
// the bus layer (bus/job-object.ts) shows a Job as org.domud.Domud1.Job.
import { EventEmitter } from 'node:events';

/** What a job works on; the bus layer turns each into an object path. */
export interface JobObject {
  readonly kind: 'image';
  readonly name: string;
}

export interface JobEvents {
  jobNew: [job: Job];
  /** Progress moved; at most one per PROGRESS_INTERVAL_MS, the last one never lost. */
  jobChanged: [job: Job];
  /** `error` is what the work threw (undefined on success); the job is gone after this. */
  jobCompleted: [job: Job, success: boolean, error: unknown];
}

/** The contract's "at most about four times a second". */
export const PROGRESS_INTERVAL_MS = 250;

/** Below this fraction an end time guessed from the rate so far is noise. */
const ESTIMATE_FROM = 0.05;

export class Job {
  private readonly abort = new AbortController();
  private lastEmit = 0;
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  private announced = 0;
  progress = 0;
  progressValid = false;
  /** µs since the epoch; 0 while unknown */
  expectedEndTime = 0;

  constructor(
    readonly id: number,
    readonly operation: string,
    readonly objects: readonly JobObject[],
    readonly startedByUid: number,
    /** µs since the epoch */
    readonly startedAt: number,
    private readonly events: EventEmitter<JobEvents>,
    private readonly now: () => number,
  ) {}

  get cancelable(): boolean {
    return !this.done;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get completed(): boolean {
    return this.done;
  }

  /** Asks the work to stop; it completes (unsuccessfully) once it has undone what it made. */
  cancel(): void {
    if (!this.done) this.abort.abort();
  }

  /** A new fraction of the whole (0..1); it never goes down. Announced at most every PROGRESS_INTERVAL_MS. */
  report(fraction: number): void {
    if (this.done || !(fraction >= this.progress)) return;
    this.progress = Math.min(1, fraction);
    this.progressValid = true;
    const elapsedUs = this.now() * 1000 - this.startedAt;
    this.expectedEndTime = this.progress >= ESTIMATE_FROM && elapsedUs > 0 ? Math.round(this.startedAt + elapsedUs / this.progress) : 0;
    const wait = this.lastEmit + PROGRESS_INTERVAL_MS - this.now();
    if (wait <= 0) this.emitChanged();
    else this.timer ??= setTimeout(() => this.emitChanged(), wait);
  }

  /** Called once by Jobs when the work settles. */
  finish(success: boolean, error: unknown): void {
    if (this.done) return;
    const held = this.timer !== undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (success && this.progress < 1) {
      this.progress = 1;
      this.progressValid = true;
      this.expectedEndTime = this.now() * 1000;
    }
    // The last value is announced before Completed, however soon it came.
    if (held || this.progress !== this.announced) this.emitChanged();
    this.done = true;
    this.events.emit('jobCompleted', this, success, error);
  }

  private emitChanged(): void {
    // A report that came late, when its held value was already due, emits at
    // once: the timer that held it must not emit a second time right after.
    clearTimeout(this.timer);
    this.timer = undefined;
    this.announced = this.progress;
    this.lastEmit = this.now();
    this.events.emit('jobChanged', this);
  }
}

/** The jobs that run now, by number. Numbers are never reused while the daemon runs. */
export class Jobs extends EventEmitter<JobEvents> {
  private readonly running = new Map<number, Job>();
  private next = 1;

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  /**
   * Starts `work` as a job and returns it at once. `work` gets the job (its
   * signal, report()) and settles once; its error is the job's failure.
   */
  start(operation: string, objects: readonly JobObject[], uid: number, work: (job: Job) => Promise<void>): Job {
    const job = new Job(this.next++, operation, objects, uid, this.now() * 1000, this, this.now);
    this.running.set(job.id, job);
    this.emit('jobNew', job);
    // Settled on a later turn, so that jobNew and the caller's reply come first.
    void Promise.resolve()
      .then(() => work(job))
      .then(
        () => this.settle(job, true, undefined),
        (e: unknown) => this.settle(job, false, e),
      );
    return job;
  }

  get(id: number): Job | undefined {
    return this.running.get(id);
  }

  list(): Job[] {
    return [...this.running.values()];
  }

  /** Cancels every job and waits (bounded) for them to complete. */
  async cancelAll(graceMs: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    let onDone: (() => void) | undefined;
    const allDone = new Promise<void>((resolve) => {
      onDone = () => {
        if (this.running.size === 0) resolve();
      };
      this.on('jobCompleted', onDone);
    });
    for (const j of this.list()) j.cancel();
    await Promise.race([allDone, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.off('jobCompleted', onDone!);
  }

  private settle(job: Job, success: boolean, error: unknown): void {
    this.running.delete(job.id);
    job.finish(success, error);
  }
}
