// src/image's entry points as the image model uses them, in memory: builds
// that wait for the test to let them finish (or fail), clones that write a
// small file, and every call recorded. The real ones run in test/image/.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import {
  ImageCancelledError,
  ImageFailedError,
  ImageInvalidError,
  NoSuchImageError,
  checkImageName,
  checkSize,
  type BuildOptions,
  type CloneOptions,
  type ImageEntry,
  type ImageInfo,
} from '../../../src/image/index.js';
import { Images, type ImageTools } from '../../../src/daemon/model/images.js';
import { Jobs } from '../../../src/daemon/model/jobs.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export class FakeImageTools implements ImageTools {
  readonly calls: string[] = [];
  /** ready images, by name: their size */
  readonly ready = new Map<string, number>();
  /** the builds running: finish one with `succeed` or `fail` */
  readonly builds = new Map<string, { o: BuildOptions; succeed: () => void; fail: (e: Error) => void }>();
  readonly clones: CloneOptions[] = [];
  /** the next clone fails with this */
  cloneError: Error | undefined;

  constructor(readonly dir: string) {}

  plan(o: BuildOptions) {
    checkImageName('name', o.name);
    if (o.suite !== undefined && !/^[a-z]+$/.test(o.suite)) throw new ImageInvalidError('suite', `${JSON.stringify(o.suite)} is not a release name`);
    return { suite: o.suite ?? 'bookworm', size: checkSize('size', o.size ?? 4 * 1024 ** 3) };
  }

  build(o: BuildOptions): Promise<ImageInfo> {
    this.calls.push(`build ${o.name}`);
    return new Promise<ImageInfo>((resolve, reject) => {
      const size = o.size ?? 4 * 1024 ** 3;
      o.signal?.addEventListener('abort', () => {
        this.builds.delete(o.name);
        reject(new ImageCancelledError('debootstrap'));
      });
      this.builds.set(o.name, {
        o,
        succeed: () => {
          this.builds.delete(o.name);
          this.ready.set(o.name, size);
          resolve({ name: o.name, path: join(this.dir, `${o.name}.img`), suite: o.suite ?? 'bookworm', mirror: 'http://m', size, kernel: 'vmlinuz' });
        },
        fail: (e) => {
          this.builds.delete(o.name);
          reject(e);
        },
      });
    });
  }

  list(): ImageEntry[] {
    return [...this.ready].map(([name, size]) => ({ name, path: join(this.dir, `${name}.img`), size, allocated: 0, createdAt: 1_700_000_000_000_000 }));
  }

  remove(_dir: string, name: string): void {
    this.calls.push(`remove ${name}`);
    if (!this.ready.delete(name)) throw new NoSuchImageError(join(this.dir, `${name}.img`));
  }

  async leftovers(...dirs: string[]): Promise<string[]> {
    this.calls.push(`leftovers ${dirs.length}`);
    return [];
  }

  async suiteOf(): Promise<string> {
    return 'trixie';
  }

  async clone(o: CloneOptions): Promise<unknown> {
    this.clones.push(o);
    if (this.cloneError) {
      const e = this.cloneError;
      this.cloneError = undefined;
      throw e;
    }
    writeFileSync(o.target, 'a guest disk\n');
    return {};
  }

  removeClone(path: string): boolean {
    if (!existsSync(path)) return false;
    rmSync(path);
    return true;
  }
}

export const failure = (step: string) => new ImageFailedError(step, 'exit status 1', ['E: Failed getting release file']);

export interface ImageRig {
  tools: FakeImageTools;
  images: Images;
  jobs: Jobs;
  dir: string;
  disksDir: string;
  logs: Array<{ msg: string; [k: string]: unknown }>;
}

export async function imageRig(t: Teardown, now?: () => number): Promise<ImageRig> {
  const dir = mkdtempSync(join(tmpdir(), 'domud-images-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logs: ImageRig['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(JSON.parse(chunk.toString()) as ImageRig['logs'][number]);
      done();
    },
  });
  const tools = new FakeImageTools(join(dir, 'images'));
  const jobs = new Jobs(now);
  const images = new Images({ dir: join(dir, 'images'), disksDir: join(dir, 'disks'), debootstrap: 'debootstrap', jobs, log: pino({ level: 'debug' }, sink), tools });
  await images.load();
  return { tools, images, jobs, dir, disksDir: join(dir, 'disks'), logs };
}
