// Following a job (org.domud.Domud1.Job) to its end: its Completed signal,
// its Progress as it changes, and domud going away meanwhile. The match
// rules are in place before the call that starts the job, so that a job
// that ends at once is not missed.
import { type Bus, BusError, plain, type Signal } from './bus.js';
import { JOB, JOB_PREFIX } from './domud.js';

export interface JobEnd {
  readonly success: boolean;
  readonly message: string;
}

const DOMUD = 'org.domud.Domud1';

const RULES = [
  `type='signal',sender='${DOMUD}',interface='${JOB}',member='Completed',path_namespace='${JOB_PREFIX}'`,
  `type='signal',sender='${DOMUD}',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path_namespace='${JOB_PREFIX}'`,
  `type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${DOMUD}'`,
];

export class Jobs {
  private readonly ended = new Map<string, JobEnd>();
  private readonly waiting = new Map<string, { resolve: (e: JobEnd) => void; progress: (f: number) => void }>();
  private lost: BusError | null = null;
  private readonly failed = new Set<(e: BusError) => void>();

  private constructor(bus: Bus) {
    bus.onSignal = (s) => this.onSignal(s);
    bus.onClose = (e) => this.fail(e);
  }

  /** Listens for every job's end and progress on `bus`. */
  static async watch(bus: Bus): Promise<Jobs> {
    const jobs = new Jobs(bus);
    for (const rule of RULES) await bus.addMatch(rule);
    return jobs;
  }

  /** Resolves when `job` completes; `progress` gets each new Progress on the way. */
  follow(job: string, progress: (fraction: number) => void = () => undefined): Promise<JobEnd> {
    const done = this.ended.get(job);
    if (done) return Promise.resolve(done);
    if (this.lost) return Promise.reject(this.lost);
    return new Promise((resolve, reject) => {
      const fail = (e: BusError) => reject(e);
      this.failed.add(fail);
      this.waiting.set(job, {
        resolve: (e) => {
          this.failed.delete(fail);
          resolve(e);
        },
        progress,
      });
    });
  }

  private onSignal(s: Signal): void {
    if (s.member === 'Completed' && s.iface === JOB) {
      const [success, message] = s.body as [boolean, string];
      const end = { success, message };
      this.ended.set(s.path, end);
      this.waiting.get(s.path)?.resolve(end);
      this.waiting.delete(s.path);
    } else if (s.member === 'PropertiesChanged' && s.body[0] === JOB) {
      const changed = s.body[1] as Record<string, { value: unknown }>;
      const p = changed.Progress;
      if (p !== undefined) this.waiting.get(s.path)?.progress(plain(p.value) as number);
    } else if (s.member === 'NameOwnerChanged' && s.body[0] === DOMUD && s.body[2] === '') {
      this.fail(new BusError('org.freedesktop.DBus.Error.NameHasNoOwner', 'domud stopped before the job ended', true));
    }
  }

  private fail(e: BusError): void {
    this.lost = e;
    for (const reject of this.failed) reject(e);
    this.failed.clear();
    this.waiting.clear();
  }
}
