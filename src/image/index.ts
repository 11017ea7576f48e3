// Guest images: building base images with debootstrap, cloning them for
// guests, and the files written into a clone. See docs/images.md.
export { buildImage, planBuild, basePackages, imagePath, DEFAULT_IMAGE_SIZE, type BuildOptions, type BuildPlan, type ImageInfo } from './build.js';
export { cloneImage, removeClone, guestFiles, networkFile, NETWORK_FILE, type CloneOptions, type CloneInfo } from './clone.js';
export { listImages, listBuilds, removeImage, removeLeftovers, imageSuite, type ImageEntry } from './images.js';
export { readFile, readFileThroughLinks, readLink, listDir, listDirs, writeFiles, type ImageFile } from './ext4.js';
export { DebootstrapProgress, EXPECTED_PACKAGES, type BuildPhase, type BuildProgress } from './progress.js';
export { hostRelease, aptMirror, distributionOf, kernelPackage } from './host.js';
export { KERNEL_ARGS, grubCfg, menuLst } from './tree.js';
export { checkSshKey, checkHostname, checkImageName, checkSize, SSH_KEY_TYPES, MIN_IMAGE_SIZE } from './validate.js';
export {
  ImageError,
  ImageInvalidError,
  NoSuchImageError,
  ImageExistsError,
  ImageBusyError,
  ImageFailedError,
  ImageNoSpaceError,
  ImageCancelledError,
} from './errors.js';
