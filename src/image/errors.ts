// Every failure of the image layer is one of these classes. `code` is stable:
// the daemon maps it to a D-Bus error name (domud-api.md, "Images and jobs"),
// so renaming one is an API change.

export abstract class ImageError extends Error {
  abstract readonly code: string;
  override get name(): string {
    return this.constructor.name;
  }
}

/** A value the caller gave was refused before anything was touched. */
export class ImageInvalidError extends ImageError {
  readonly code = 'InvalidArgument';
  constructor(readonly field: string, reason: string) {
    super(`${field}: ${reason}`);
  }
}

export class NoSuchImageError extends ImageError {
  readonly code = 'NoSuchImage';
  constructor(readonly path: string) {
    super(`no image at ${path}`);
  }
}

/** The image (or a guest's copy) is there already. */
export class ImageExistsError extends ImageError {
  readonly code = 'ImageExists';
  constructor(readonly path: string) {
    super(`${path} exists already`);
  }
}

/** A build of that name is under way (or was killed and not cleaned up yet). */
export class ImageBusyError extends ImageError {
  readonly code = 'ImageBusy';
  constructor(readonly image: string, readonly buildDir: string) {
    super(`image ${image} is being built (${buildDir})`);
  }
}

/** A step failed: which one, how, and the last lines it printed. */
export class ImageFailedError extends ImageError {
  readonly code = 'ImageFailed';
  constructor(readonly step: string, detail: string, readonly tail: readonly string[] = []) {
    super(`${step} failed: ${detail}${tail.length > 0 ? `\n${tail.join('\n')}` : ''}`);
  }
}

/** The filesystem holding `dir` filled up; everything the step made is gone again. */
export class ImageNoSpaceError extends ImageError {
  readonly code = 'NoSpace';
  constructor(readonly dir: string, readonly step: string) {
    super(`no space left in ${dir} (during ${step})`);
  }
}

export class ImageCancelledError extends ImageError {
  readonly code = 'Cancelled';
  constructor(readonly step: string) {
    super(`cancelled during ${step}`);
  }
}
