// Errors of the domain model. Each has a stable code; the bus layer maps
// codes to D-Bus error names in one place (src/daemon/bus/errors.ts).

export abstract class ModelError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidNameError extends ModelError {
  readonly code = 'InvalidName';
}

export class InvalidArgumentError extends ModelError {
  readonly code = 'InvalidArgument';
}

export class NoSuchDomainError extends ModelError {
  readonly code = 'NoSuchDomain';
  constructor(readonly domain: string) {
    super(`No domain "${domain}" is known; ListDomains shows the known ones`);
  }
}

export class DomainExistsError extends ModelError {
  readonly code = 'DomainExists';
  constructor(readonly domain: string) {
    super(`A domain named "${domain}" already exists; choose another name or destroy it first`);
  }
}

export class NotRunningError extends ModelError {
  readonly code = 'NotRunning';
  constructor(readonly domain: string) {
    super(`Domain "${domain}" is not running; start it with StartDomain`);
  }
}

export class AlreadyRunningError extends ModelError {
  readonly code = 'AlreadyRunning';
  constructor(readonly domain: string) {
    super(`Domain "${domain}" is already running`);
  }
}

export class WaitTimeoutError extends ModelError {
  readonly code = 'Timeout';
}

export class ShuttingDownError extends ModelError {
  readonly code = 'ShuttingDown';
  constructor() {
    super('domud is shutting down and takes no new calls; try again once it has restarted');
  }
}

// Images (domud-api.md, "Images and jobs"). The image layer's own errors
// carry the same codes; these say it in the daemon's words, by name.

export class NoSuchImageError extends ModelError {
  readonly code = 'NoSuchImage';
  constructor(readonly image: string) {
    super(`No image "${image}" is known; ListImages shows the known ones`);
  }
}

export class ImageExistsError extends ModelError {
  readonly code = 'ImageExists';
  constructor(readonly image: string) {
    super(`An image named "${image}" already exists; choose another name or remove it first`);
  }
}

export class ImageBusyError extends ModelError {
  readonly code = 'ImageBusy';
  constructor(
    readonly image: string,
    why: string,
  ) {
    super(`Image "${image}" ${why}`);
  }
}

/** An image whose build failed, used as if it were ready. */
export class ImageNotReadyError extends ModelError {
  readonly code = 'ImageFailed';
  constructor(
    readonly image: string,
    why: string,
  ) {
    super(`Image "${image}" failed to build, so no guest can be made from it; remove it and build it again. It failed with: ${why}`);
  }
}
