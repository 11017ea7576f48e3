// The guest image the trixie run boots on real Xen: the one npm run
// test:images built and checked, or, when the cache has none from the
// current code, one built here the same way, with domud's own builder from
// dist/ and the real debootstrap. Prints "PATH KERNEL".
//
// usage: node test/xen/guest-image.mjs SUITE   (as root: debootstrap, chroot)
import { mkdtempSync, rmSync } from 'node:fs';
import { buildImage } from '../../dist/src/image/index.js';
import { buildOptions, builtImage, publish } from '../support/built-image.mjs';

const suite = process.argv[2];
if (!suite) {
  console.error('usage: guest-image.mjs SUITE');
  process.exit(2);
}
let image = builtImage(suite);
if (image) {
  console.error(`guest-image: cached ${image.path} (${image.kernel})`);
} else {
  const started = Date.now();
  const work = mkdtempSync('/var/tmp/domud-xen-image-');
  try {
    let said = '';
    const built = await buildImage({
      ...buildOptions(suite, work),
      onProgress: (p) => {
        if (p.phase !== said) console.error(`guest-image: [${Math.round((Date.now() - started) / 1000)}s] ${(said = p.phase)}`);
      },
    });
    image = publish(suite, built.path, built.kernel);
    console.error(`guest-image: built ${suite} in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
console.log(`${image.path} ${image.kernel}`);
