// Guest images as the daemon knows them: the ready ones in the image
// directory, and, in memory only, the ones building or failed. CreateImage
// is a job around src/image's buildImage; a guest's disk is a cloneImage of
// a ready image. Nothing here knows D-Bus (bus/image-object.ts shows these),
// nor the other layers: the lifecycle reaches the guests' disks through the
// GuestDisks interface this class implements.
import { EventEmitter } from 'node:events';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  ImageCancelledError,
  buildImage,
  checkSize,
  cloneImage,
  imagePath,
  imageSuite,
  listImages,
  planBuild,
  removeClone,
  removeImage,
  removeLeftovers,
  type BuildOptions,
  type CloneOptions,
  type ImageEntry,
  type ImageInfo,
} from '../../image/index.js';
import { ImageBusyError, ImageExistsError, ImageNotReadyError, InvalidArgumentError, NoSuchImageError } from './errors.js';
import type { Job, Jobs } from './jobs.js';
import { checkImageName } from './names.js';

export type ImageState = 'building' | 'ready' | 'failed';

export interface Image {
  readonly name: string;
  /** the release it was built from ('' when it cannot be told) */
  readonly suite: string;
  readonly state: ImageState;
  /** bytes: the file's length; while building, the size asked for */
  readonly size: number;
  /** µs since the epoch: when it became ready (while building or failed, when the build began) */
  readonly createdAt: number;
  /** the image file (while building or failed, where it would be) */
  readonly path: string;
  /** why the build failed (state failed) */
  readonly error?: string | undefined;
}

export interface ImageEvents {
  imageNew: [image: Image];
  /** state, size or createdAt changed */
  imageChanged: [image: Image];
  imageRemoved: [name: string];
}

/** CreateImage's options as plain values; the bus layer checked their D-Bus types. */
export interface ImageOptions {
  suite?: string;
  mirror?: string;
  size?: number | bigint;
  packages?: string[];
}

/** What the lifecycle needs for a guest made from an image (implemented by Images). */
export interface GuestDisks {
  /** The ready image `name`'s path and size; NoSuchImage, ImageBusy (building) or ImageFailed. */
  source(name: string): { path: string; size: number };
  /** Where a domain's own copy lives. */
  diskPath(domain: string): string;
  /** Makes the domain's copy of the image; throws having left nothing. */
  clone(image: string, o: Omit<CloneOptions, 'image' | 'target'> & { domain: string }): Promise<void>;
  /** Removes the domain's copy, if there is one. */
  removeDisk(domain: string): void;
}

/** src/image's entry points, as this file uses them: a seam for the model's unit tests. */
export interface ImageTools {
  plan(o: BuildOptions): { suite: string; size: number };
  build(o: BuildOptions): Promise<ImageInfo>;
  list(dir: string): ImageEntry[];
  remove(dir: string, name: string): void;
  leftovers(...dirs: string[]): Promise<string[]>;
  /** the suite an image was built from, read from its os-release */
  suiteOf(path: string): Promise<string>;
  clone(o: CloneOptions): Promise<unknown>;
  removeClone(path: string): boolean;
}

export const realTools: ImageTools = {
  plan: planBuild,
  build: buildImage,
  list: listImages,
  remove: removeImage,
  leftovers: removeLeftovers,
  suiteOf: imageSuite,
  clone: cloneImage,
  removeClone,
};

export interface ImagesDeps {
  /** where images live (<StateDirectory>/images) */
  readonly dir: string;
  /** where guests' copies live (<StateDirectory>/disks) */
  readonly disksDir: string;
  /** the debootstrap to run: a name on the fixed PATH or an absolute path */
  readonly debootstrap: string;
  /** debootstrap's --cache-dir, if any */
  readonly cacheDir?: string | undefined;
  readonly jobs: Jobs;
  readonly log: Logger;
  readonly tools?: ImageTools;
  /** where dom0's os-release and apt sources are read for the defaults (tests) */
  readonly hostRoot?: string | undefined;
}

const MAX_BYTES = BigInt(Number.MAX_SAFE_INTEGER);

/** A D-Bus `t` (a bigint) as a number of bytes, or InvalidArgument. */
export function bytes(key: string, v: number | bigint): number {
  if (typeof v === 'bigint' && v > MAX_BYTES) throw new InvalidArgumentError(`Option "${key}" is too large: ${v}`);
  return Number(v);
}

export class Images extends EventEmitter<ImageEvents> implements GuestDisks {
  private readonly records = new Map<string, Image>();
  /** Images being copied for a guest now, with how many copies: they may not be removed meanwhile. */
  private readonly cloning = new Map<string, number>();
  private readonly tools: ImageTools;

  constructor(private readonly d: ImagesDeps) {
    super();
    this.tools = d.tools ?? realTools;
  }

  /**
   * Start-up, before any build or clone runs: the directories made, what
   * killed builds and clones left removed (a build killed half way leaves
   * nothing that reads ready), the ready images read. Images that failed
   * before a restart are not remembered: a failed build leaves no file.
   */
  async load(): Promise<void> {
    // 0755 whatever the umask (the unit's is 0077); the guests' disks are theirs alone.
    if (mkdirSync(this.d.dir, { recursive: true }) !== undefined) chmodSync(this.d.dir, 0o755);
    mkdirSync(this.d.disksDir, { recursive: true, mode: 0o700 });
    for (const p of await this.tools.leftovers(this.d.dir, this.d.disksDir)) this.d.log.info({ path: p }, 'removed what a killed build or clone left');
    for (const e of this.tools.list(this.d.dir)) {
      let suite = '';
      try {
        suite = await this.tools.suiteOf(e.path);
      } catch (err) {
        this.d.log.warn({ err, image: e.name }, 'cannot read the image\'s release; its Suite reads empty');
      }
      this.records.set(e.name, { name: e.name, suite, state: 'ready', size: e.size, createdAt: e.createdAt, path: e.path });
    }
  }

  list(): Image[] {
    return [...this.records.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  find(name: string): Image | undefined {
    return this.records.get(name);
  }

  get(name: string): Image {
    checkImageName(name);
    const i = this.records.get(name);
    if (!i) throw new NoSuchImageError(name);
    return i;
  }

  /**
   * Starts building image `name` and returns its job at once; the image is
   * known (building) from now. Every option is checked first: a bad one
   * changes nothing.
   */
  create(name: string, o: ImageOptions, uid: number): Job {
    checkImageName(name);
    const build: BuildOptions = {
      dir: this.d.dir,
      name,
      suite: o.suite,
      mirror: o.mirror,
      size: o.size === undefined ? undefined : bytes('size', o.size),
      packages: o.packages,
      debootstrap: this.d.debootstrap,
      cacheDir: this.d.cacheDir,
      hostRoot: this.d.hostRoot,
    };
    const plan = this.tools.plan(build);
    const path = imagePath(this.d.dir, name);
    // A file put there behind domud's back counts as known too: building over it would fail anyway.
    if (this.records.has(name) || existsSync(path)) throw new ImageExistsError(name);
    const building: Image = { name, suite: plan.suite, state: 'building', size: plan.size, createdAt: Date.now() * 1000, path };
    this.records.set(name, building);
    this.emit('imageNew', building);
    const log = this.d.log.child({ image: name });
    return this.d.jobs.start('create-image', [{ kind: 'image', name }], uid, async (job) => {
      log.info({ suite: plan.suite, size: plan.size, job: job.id }, 'building image');
      try {
        const info = await this.tools.build({ ...build, signal: job.signal, onProgress: (p) => job.report(p.fraction) });
        const entry = this.tools.list(this.d.dir).find((e) => e.name === name);
        this.change({ ...building, suite: info.suite, state: 'ready', size: info.size, createdAt: entry?.createdAt ?? Date.now() * 1000 });
        log.info({ job: job.id }, 'image ready');
      } catch (e) {
        if (e instanceof ImageCancelledError) {
          // buildImage removed everything it made: so goes the record.
          this.records.delete(name);
          this.emit('imageRemoved', name);
          log.info({ job: job.id, step: e.step }, 'image build cancelled');
        } else {
          this.change({ ...building, state: 'failed', error: (e as Error).message });
          log.warn({ job: job.id, err: e }, 'image build failed');
        }
        throw e;
      }
    });
  }

  /** Removes a ready or failed image; ImageBusy while it builds or a guest's copy is being made from it. */
  remove(name: string): void {
    const i = this.get(name);
    if (i.state === 'building') throw new ImageBusyError(name, 'is being built; cancel its job first');
    if (this.cloning.has(name)) throw new ImageBusyError(name, 'is being copied for a new guest; try again once that is done');
    if (i.state === 'ready') {
      try {
        this.tools.remove(this.d.dir, name);
      } catch (e) {
        // Gone behind domud's back: it is removed all the same.
        if ((e as { code?: unknown }).code !== 'NoSuchImage') throw e;
      }
    }
    this.records.delete(name);
    this.d.log.info({ image: name, state: i.state }, 'image removed');
    this.emit('imageRemoved', name);
  }

  // ---- GuestDisks ----

  source(name: string): { path: string; size: number } {
    const i = this.get(name);
    if (i.state === 'building') throw new ImageBusyError(name, 'is still being built; wait for its job to complete');
    if (i.state === 'failed') throw new ImageNotReadyError(name, i.error ?? 'an unknown error');
    return { path: i.path, size: i.size };
  }

  diskPath(domain: string): string {
    return join(this.d.disksDir, `${domain}.img`);
  }

  async clone(image: string, o: Omit<CloneOptions, 'image' | 'target'> & { domain: string }): Promise<void> {
    const { path, size } = this.source(image);
    if (o.diskSize !== undefined) checkSize('disk_size', o.diskSize, size);
    this.cloning.set(image, (this.cloning.get(image) ?? 0) + 1);
    try {
      const { domain, ...rest } = o;
      await this.tools.clone({ ...rest, image: path, target: this.diskPath(domain) });
    } finally {
      const n = this.cloning.get(image)! - 1;
      if (n === 0) this.cloning.delete(image);
      else this.cloning.set(image, n);
    }
  }

  removeDisk(domain: string): void {
    if (this.tools.removeClone(this.diskPath(domain))) this.d.log.info({ domain, path: this.diskPath(domain) }, 'guest disk removed');
  }

  private change(i: Image): void {
    this.records.set(i.name, i);
    this.emit('imageChanged', i);
  }
}
