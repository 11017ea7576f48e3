// What a build adds to the tree debootstrap made, before it becomes a
// filesystem: a boot entry pygrub reads, a getty on Xen's console, sshd with
// host keys made by each guest on its first boot, systemd-networkd on (each
// clone gets its own .network file), and no password. Plain file operations
// on the tree; nothing runs inside it.
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newestFirst } from '../lib/dpkg-version.js';
import { ImageFailedError } from './errors.js';

/**
 * The guest's kernel command line: root is the whole of xvda (the image has
 * no partition table), and the console is Xen's PV console.
 */
export const KERNEL_ARGS = 'root=/dev/xvda ro console=hvc0';

/** The unit that gives each guest its own SSH host keys on its first boot. */
export const HOST_KEYS_UNIT = 'domud-ssh-host-keys.service';

function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes `rel`'s parent directories inside `root`, refusing to go through a
 * symbolic link: a link in the tree resolves against the host's root, and a
 * write through it would land outside the tree.
 */
function parents(root: string, rel: string): void {
  const parts = rel.split('/').slice(0, -1);
  let p = root;
  for (const part of parts) {
    p = join(p, part);
    if (!lexists(p)) mkdirSync(p, { mode: 0o755 });
    else if (!lstatSync(p).isDirectory()) throw new ImageFailedError('prepare', `${p} is not a directory`);
  }
}

/** Writes `rel` in place of whatever was there (a link is replaced, not followed). */
export function put(root: string, rel: string, text: string, mode = 0o644): void {
  parents(root, rel);
  const p = join(root, rel);
  rmSync(p, { force: true });
  writeFileSync(p, text, { mode, flag: 'wx' });
}

function link(root: string, rel: string, target: string): void {
  parents(root, rel);
  const p = join(root, rel);
  rmSync(p, { force: true });
  symlinkSync(target, p);
}

/** Kernel versions that have both a vmlinuz and an initrd.img in /boot, newest first. */
export function kernelsIn(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(root, 'boot'));
  } catch {
    names = [];
  }
  const kernels = names.filter((f) => f.startsWith('vmlinuz-') && names.includes(`initrd.img-${f.slice(8)}`)).map((f) => f.slice(8));
  return newestFirst(kernels, (k) => k);
}

export function grubCfg(): string {
  // /vmlinuz and /initrd.img are the links Debian's and Ubuntu's kernel
  // packages keep pointing at the newest kernel (linux-update-symlinks), so
  // the entry still boots after the guest upgrades its kernel.
  return [
    '# written by domud for pygrub; the guest has no GRUB of its own',
    'set default=0',
    'set timeout=1',
    "menuentry 'Debian GNU/Linux (domud)' {",
    `\tlinux /vmlinuz ${KERNEL_ARGS}`,
    '\tinitrd /initrd.img',
    '}',
    '',
  ].join('\n');
}

/** The same entry for the pygrub of Xen 3.x, which reads GRUB legacy's menu.lst only. */
export function menuLst(): string {
  return ['# written by domud for pygrub', 'default 0', 'timeout 1', '', 'title Debian GNU/Linux (domud)', 'root (hd0)', `kernel /vmlinuz ${KERNEL_ARGS}`, 'initrd /initrd.img', ''].join('\n');
}

export function hostKeysUnit(): string {
  return [
    '# written by domud: an image is cloned for many guests, so it carries no',
    '# SSH host keys; each guest makes its own on its first boot.',
    '[Unit]',
    "Description=Generate this guest's SSH host keys",
    'Before=ssh.service',
    'ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key',
    '',
    '[Service]',
    'Type=oneshot',
    'ExecStart=/usr/bin/ssh-keygen -A',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** `root:HASH:...` becomes `root:*:...` when HASH is empty (a login with no password at all). */
export function lockRoot(shadow: string): string {
  return shadow.replace(/^root::/m, 'root:*:');
}

export interface TreeFacts {
  /** the newest kernel version in /boot */
  kernel: string;
}

/** Checks what debootstrap made and adds domud's files; throws ImageFailedError('prepare', …). */
export function prepareTree(root: string): TreeFacts {
  const kernels = kernelsIn(root);
  if (kernels.length === 0) throw new ImageFailedError('prepare', 'no kernel with an initrd in /boot (is linux-image-* among the packages?)');
  if (!lexists(join(root, 'usr/sbin/sshd'))) throw new ImageFailedError('prepare', 'no /usr/sbin/sshd (is openssh-server among the packages?)');
  const kernel = kernels[0]!;
  // The kernel packages make these links unless told not to; make them if absent.
  for (const [l, f] of [['vmlinuz', `boot/vmlinuz-${kernel}`], ['initrd.img', `boot/initrd.img-${kernel}`]] as const) {
    if (!lexists(join(root, l))) link(root, l, f);
    else if (!lstatSync(join(root, l)).isSymbolicLink() && !lstatSync(join(root, l)).isFile()) throw new ImageFailedError('prepare', `/${l} is neither a file nor a link`);
  }
  put(root, 'boot/grub/grub.cfg', grubCfg());
  put(root, 'boot/grub/menu.lst', menuLst());
  put(root, 'etc/fstab', '# written by domud: the guest sees its image as the whole of xvda\n/dev/xvda / ext4 errors=remount-ro 0 1\n');
  put(root, 'etc/hostname', 'localhost\n');
  put(root, 'etc/hosts', hostsFile('localhost'));
  // Empty, not absent: systemd makes a new one on the first boot, so clones differ.
  put(root, 'etc/machine-id', '', 0o444);
  const shadow = join(root, 'etc/shadow');
  if (lexists(shadow)) put(root, 'etc/shadow', lockRoot(readFileSync(shadow, 'utf8')), 0o640);
  for (const f of readdirSync(join(root, 'etc/ssh')).filter((f) => f.startsWith('ssh_host_'))) rmSync(join(root, 'etc/ssh', f));
  put(root, `etc/systemd/system/${HOST_KEYS_UNIT}`, hostKeysUnit());
  const wants = 'etc/systemd/system';
  link(root, `${wants}/multi-user.target.wants/${HOST_KEYS_UNIT}`, `/etc/systemd/system/${HOST_KEYS_UNIT}`);
  link(root, `${wants}/getty.target.wants/serial-getty@hvc0.service`, '/lib/systemd/system/serial-getty@.service');
  // What `systemctl enable systemd-networkd` makes (its [Install] section).
  link(root, `${wants}/multi-user.target.wants/systemd-networkd.service`, '/lib/systemd/system/systemd-networkd.service');
  link(root, `${wants}/sockets.target.wants/systemd-networkd.socket`, '/lib/systemd/system/systemd-networkd.socket');
  link(root, `${wants}/network-online.target.wants/systemd-networkd-wait-online.service`, '/lib/systemd/system/systemd-networkd-wait-online.service');
  link(root, `${wants}/dbus-org.freedesktop.network1.service`, '/lib/systemd/system/systemd-networkd.service');
  return { kernel };
}

export function hostsFile(hostname: string): string {
  return `127.0.0.1\tlocalhost\n127.0.1.1\t${hostname}\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n`;
}

