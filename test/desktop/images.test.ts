// Images from the window: the Images view builds one (progress, then ready),
// cancels a slow build, shows a failed one and removes it; the New guest
// dialog makes a guest from the image with the user's SSH key. The daemon is
// the sandbox's, with sim/debootstrap-sim for debootstrap; the checks are
// made with busctl and by reading the sandbox's state directory.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { readFile } from '../../src/image/index.js';
import { build, busctlOn, DesktopWindow, MANAGER as M, sandbox } from './window.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@desktop';

t.before(build);

t.test('images: build with progress, cancel, a failure, a guest from the image', async (t) => {
  const s = await sandbox(t);
  const { busctl, call } = busctlOn(s);
  const images = async () => (JSON.parse(await busctl('--json=short', 'call', ...M, 'ListImages')) as { data: [[string, string, string][]] }).data[0].map((r) => `${r[0]}:${r[2]}`);
  const imagesDir = join(s.stateDir, 'images');
  // The user's own key, which the dialog offers for root.
  const home = mkdtempSync(join(tmpdir(), 'domud-desktop-home-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  mkdirSync(join(home, '.ssh'));
  writeFileSync(join(home, '.ssh', 'id_ed25519.pub'), `${KEY}\n`);

  const w = await DesktopWindow.open({ bus: s.address, env: { HOME: home } });
  t.teardown(() => w.close());
  t.ok((await w.wait('No guests yet', 30)).ok);
  t.ok((await w.tab('Images')).ok, 'the Images view');
  t.ok((await w.wait('No images yet')).ok);

  await t.test('Build image shows the job’s progress and ends with the image ready', async (t) => {
    // Slow enough to be seen moving (a few seconds).
    s.debootstrapEnv({ DEBOOTSTRAP_SIM_DELAY_MS: '60' });
    t.ok((await w.click('Build image…')).ok);
    t.ok((await w.type('Image name', 'base')).ok);
    t.ok((await w.type('Suite (optional)', 'bookworm')).ok);
    t.ok((await w.type('Image size (optional)', '64M')).ok);
    t.ok((await w.click('Build')).ok);
    t.ok((await w.waitPrefix('Building base…', 10)).ok, 'the dialog says it builds');
    t.same(await images(), ['base:building'], 'the daemon builds it');
    const seen: number[] = [];
    let shot = false;
    for (let i = 0; i < 600; i++) {
      const v = (await w.progress())[0];
      if (v !== undefined && v !== seen.at(-1)) seen.push(v);
      if (!shot && v !== undefined && v > 0.2 && v < 0.9) {
        shot = true;
        await w.screenshot('image-building');
      }
      if ((await w.command({ op: 'wait', text: 'base is ready.', timeout: 0 })).ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    t.ok(seen.filter((v) => v > 0 && v < 1).length >= 2, `the bar moved through several values: ${seen.map((v) => v.toFixed(2)).join(' ')}`);
    t.same(seen, [...seen].sort((a, b) => a - b), 'never backwards');
    t.ok((await w.wait('base is ready.', 60)).ok, 'the dialog says it is ready (Completed)');
    t.same(await w.progress(), [1], 'the bar is full');
    await w.screenshot('image-built');
    t.same(await images(), ['base:ready']);
    t.ok(existsSync(join(imagesDir, 'base.img')));
    t.ok((await w.click('Done')).ok);
    t.ok((await w.gone('base is ready.')).ok);
    t.ok((await w.wait('Ready')).ok, 'the Images view lists it as ready');
    t.ok((await w.wait('bookworm · 64 MiB')).ok, 'with its suite and size');
    t.notOk((await w.texts()).includes('No images yet'));
    await w.screenshot('images');
  });

  await t.test('Cancel during a slow build: the job is cancelled and the image goes', async (t) => {
    s.debootstrapEnv({ DEBOOTSTRAP_SIM_HANG: 'base' });
    t.ok((await w.click('Build image…')).ok);
    t.ok((await w.type('Image name', 'slow')).ok);
    t.ok((await w.type('Suite (optional)', 'bookworm')).ok);
    t.ok((await w.type('Image size (optional)', '64M')).ok);
    t.ok((await w.click('Build')).ok);
    t.ok((await w.waitPrefix('Building slow…')).ok);
    t.same(await images(), ['base:ready', 'slow:building']);
    // Hung in the base phase: past 0.6.
    let v = 0;
    for (let i = 0; i < 300 && !(v > 0.6); i++) {
      v = (await w.progress())[0] ?? 0;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.ok(v > 0.6, `the bar shows the build hung in its base phase (${v})`);
    t.ok(readdirSync(imagesDir).includes('.slow.build'), 'the build is under way');
    t.ok((await w.click('Cancel')).ok);
    const said = await w.waitPrefix('The build of slow was cancelled', 30);
    t.ok(said.ok, `the dialog says so: ${said.text}`);
    await w.screenshot('image-cancelled');
    t.same(await images(), ['base:ready'], 'the daemon forgot the image');
    t.same(readdirSync(imagesDir), ['base.img'], 'nothing of the build is left');
    t.ok((await w.click('Done')).ok);
    t.ok((await w.gone('slow')).ok, 'the Images view no longer lists it');
  });

  await t.test('a failing build says why; Remove takes the failed image away', async (t) => {
    s.debootstrapEnv({ DEBOOTSTRAP_SIM_FAIL: 'release' });
    t.ok((await w.click('Build image…')).ok);
    t.ok((await w.type('Image name', 'broken')).ok);
    t.ok((await w.type('Suite (optional)', 'bookworm')).ok);
    t.ok((await w.type('Image size (optional)', '64M')).ok);
    t.ok((await w.click('Build')).ok);
    const said = await w.waitPrefix('The build of broken failed: debootstrap failed', 30);
    t.ok(said.ok, `the failure is said: ${said.text}`);
    t.match(said.text ?? '', /Failed getting release file/, 'with debootstrap’s own words');
    await w.screenshot('image-build-failed');
    t.ok((await w.click('Done')).ok);
    t.ok((await w.wait('Failed')).ok, 'listed as failed');
    t.same(await images(), ['base:ready', 'broken:failed']);
    await w.screenshot('image-failed');
    t.ok((await w.click('Remove broken')).ok);
    t.ok((await w.wait('Remove broken?')).ok, 'asks first');
    t.ok((await w.click('Remove')).ok);
    t.ok((await w.gone('broken', 10)).ok, 'the row goes');
    t.same(await images(), ['base:ready'], 'RemoveImage was called');
    s.debootstrapEnv({});
  });

  await t.test('New guest from the image: a bad disk size is said beside it; then a guest with its copy and the key', async (t) => {
    const before = await call('ListDomains', '');
    const leases = await call('ListLeases', '');
    t.ok((await w.click('New guest')).ok);
    t.ok((await w.type('Name', 'web')).ok);
    t.notOk((await w.texts()).includes('Disk size (optional)'), 'no disk size without an image');
    const chose = await w.select('base', 'Guest image');
    t.ok(chose.ok, chose.error ?? 'the image is chosen');
    t.ok((await w.wait('Disk size (optional)')).ok, 'its fields show');
    t.ok((await w.type('Disk size (optional)', '12 apples')).ok);
    t.ok((await w.click('Create')).ok);
    t.ok((await w.wait('A disk size is a number of bytes, or a number with K, M, G or T, e.g. 8G.')).ok, 'a size that is none is said');
    t.equal(await call('ListDomains', ''), before, 'no domain was made');
    // One the daemon refuses: smaller than the image.
    t.ok((await w.type('Disk size (optional)', '1M')).ok);
    t.ok((await w.click('Create')).ok);
    const refused = await w.waitPrefix('The disk size must be at least the image’s size, 64 MiB', 20);
    t.ok(refused.ok, `the daemon's InvalidArgument is said: ${refused.text}`);
    await w.screenshot('new-guest-bad-disk-size');
    t.equal(await call('ListDomains', ''), before, 'still no domain');
    t.equal(await call('ListLeases', ''), leases, 'no address leased');
    t.notOk(existsSync(join(s.stateDir, 'disks', 'web.img')), 'no copy made');

    t.ok((await w.type('Disk size (optional)', '128M')).ok);
    // The key field is left as the dialog filled it: with ~/.ssh/id_ed25519.pub.
    t.ok((await w.click('Create')).ok);
    const done = await w.waitPrefix('web was created with address ', 60);
    t.ok(done.ok, `created: ${done.text}`);
    await w.screenshot('new-guest-from-image');
    const disk = join(s.stateDir, 'disks', 'web.img');
    const cfg = readFileSync(join(s.stateDir, 'domains', 'web.cfg'), 'utf8');
    t.match(cfg, /^bootloader = "pygrub"$/m, 'it boots through pygrub');
    t.match(cfg, `target=${disk}`, 'from its own copy');
    t.equal(await readFile(disk, '/root/.ssh/authorized_keys'), `${KEY}\n`, 'root’s key is the one the dialog offered from ~/.ssh');
    t.equal(await readFile(disk, '/etc/hostname'), 'web\n');
    t.match(await busctl('get-property', 'org.domud.Domud1', '/org/domud/Domud1/domain/web', 'org.domud.Domud1.Domain', 'State'), /running|blocked/);
    t.ok((await w.click('Done')).ok);
  });

  await t.test('New guest: a bad key and an image gone meanwhile are said, and nothing is made', async (t) => {
    const before = await call('ListDomains', '');
    const leases = await call('ListLeases', '');
    t.ok((await w.click('New guest')).ok);
    t.ok((await w.type('Name', 'db')).ok);
    t.ok((await w.select('base', 'Guest image')).ok);
    t.ok((await w.type('SSH public key (optional)', 'ssh-ed25519 not-base64!')).ok);
    t.ok((await w.click('Create')).ok);
    const key = await w.waitPrefix('Could not create db: ssh_key:', 20);
    t.ok(key.ok, `the daemon's InvalidArgument about the key is said: ${key.text}`);
    await w.screenshot('new-guest-bad-key');
    t.equal(await call('ListDomains', ''), before, 'no domain was made');

    // Another client removes the image while the dialog offers it.
    await call('RemoveImage', 's', 'base');
    t.ok((await w.type('SSH public key (optional)', KEY)).ok);
    t.ok((await w.click('Create')).ok);
    t.ok((await w.wait('That image is no longer known to domud.', 20)).ok, 'NoSuchImage is one sentence');
    t.equal(await call('ListDomains', ''), before, 'still no domain');
    t.equal(await call('ListLeases', ''), leases, 'no address leased');
    t.notOk(existsSync(join(s.stateDir, 'disks', 'db.img')), 'no copy made');
    t.ok((await w.click('Cancel')).ok);
    t.ok((await w.wait('No images yet')).ok, 'the Images view follows the removal');
  });
});
