// Checks for every value that reaches a command line, a file name or a file
// inside an image. Each throws ImageInvalidError naming the field, before
// anything is touched.
import { ImageInvalidError } from './errors.js';

/** The domain-name rule of src/xm (xend's characters), minus a leading `.`: those names are the build's. */
export function checkImageName(field: string, name: string): string {
  if (!/^[A-Za-z0-9_:+][A-Za-z0-9_.:+-]{0,63}$/.test(name)) {
    throw new ImageInvalidError(field, `${JSON.stringify(name)} is not an image name (1-64 of A-Z a-z 0-9 _ . : + -, not starting with . or -)`);
  }
  return name;
}

/** A release codename or alias as debootstrap names its scripts (bookworm, stable, noble). */
export function checkSuite(suite: string): string {
  if (!/^[a-z][a-z0-9-]{1,31}$/.test(suite)) throw new ImageInvalidError('suite', `${JSON.stringify(suite)} is not a release name`);
  return suite;
}

/** An http(s) archive URL: it goes onto debootstrap's command line and into the image's sources.list. */
export function checkMirror(mirror: string): string {
  let url: URL;
  try {
    url = new URL(mirror);
  } catch {
    throw new ImageInvalidError('mirror', `${JSON.stringify(mirror)} is not a URL`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !/^[\x21-\x7e]+$/.test(mirror) || url.hostname === '') {
    throw new ImageInvalidError('mirror', `${JSON.stringify(mirror)} is not an http or https archive URL`);
  }
  return mirror;
}

/** Debian policy §5.6.1: lower case, digits, + - . ; at least two characters, starting alphanumeric. */
export function checkPackages(packages: readonly string[]): string[] {
  if (packages.length > 200) throw new ImageInvalidError('packages', `${packages.length} packages; at most 200`);
  for (const p of packages) {
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p)) throw new ImageInvalidError('packages', `${JSON.stringify(p)} is not a package name`);
  }
  return [...packages];
}

export const MIN_IMAGE_SIZE = 64 * 1024 * 1024;
export const MAX_IMAGE_SIZE = 16 * 1024 ** 4;

/** Bytes, a whole number of 4 KiB blocks (the filesystem's block size). */
export function checkSize(field: string, size: number, min = MIN_IMAGE_SIZE): number {
  if (!Number.isSafeInteger(size) || size < min || size > MAX_IMAGE_SIZE) {
    throw new ImageInvalidError(field, `${size} is not a size in bytes from ${min} to ${MAX_IMAGE_SIZE}`);
  }
  if (size % 4096 !== 0) throw new ImageInvalidError(field, `${size} is not a multiple of 4096`);
  return size;
}

/** One RFC 1123 label: what /etc/hostname may hold without surprising anything that reads it. */
export function checkHostname(name: string): string {
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(name)) {
    throw new ImageInvalidError('hostname', `${JSON.stringify(name)} is not a host name (1-63 of A-Z a-z 0-9 -, not starting or ending with -)`);
  }
  return name;
}

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

export function ipv4ToNumber(field: string, a: string): number {
  if (!IPV4.test(a)) throw new ImageInvalidError(field, `${JSON.stringify(a)} is not an IPv4 address`);
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function checkPrefix(prefix: number): number {
  if (!Number.isSafeInteger(prefix) || prefix < 8 || prefix > 30) throw new ImageInvalidError('prefix', `${prefix} is not a prefix length from 8 to 30`);
  return prefix;
}

/** The address and the gateway are hosts of one subnet, and not the same host. */
export function checkNetwork(address: string, prefix: number, gateway: string): void {
  const a = ipv4ToNumber('address', address);
  const g = ipv4ToNumber('gateway', gateway);
  checkPrefix(prefix);
  const size = 2 ** (32 - prefix);
  const net = (n: number) => Math.floor(n / size);
  const host = (n: number) => n % size;
  if (host(a) === 0 || host(a) === size - 1) throw new ImageInvalidError('address', `${address} is the network or broadcast address of /${prefix}`);
  if (net(g) !== net(a) || host(g) === 0 || host(g) === size - 1) throw new ImageInvalidError('gateway', `${gateway} is not a host of ${address}/${prefix}`);
  if (g === a) throw new ImageInvalidError('gateway', `${gateway} is the guest's own address`);
}

/** The key types OpenSSH 9 accepts for users (ssh-dss is off by default there, so refused here). */
export const SSH_KEY_TYPES: readonly string[] = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
];

/**
 * One public key line, `TYPE BASE64 [COMMENT]`, as ssh-keygen writes it:
 * no authorized_keys options (they could run commands), a known type, and a
 * blob that names the same type (so a truncated or pasted-wrong key fails
 * here, not at the first login). Returns the line without its newline.
 */
export function checkSshKey(line: string): string {
  const key = line.replace(/\r?\n$/, '');
  const bad = (why: string) => new ImageInvalidError('ssh_key', why);
  if (key.length > 16384) throw bad('longer than 16384 characters');
  if (!/^[\x20-\x7e]+$/.test(key)) throw bad('not one line of printable ASCII');
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,2})(?: ([\x20-\x7e]*))?$/.exec(key);
  if (m === null) throw bad('not "TYPE BASE64 [COMMENT]"');
  const [, type, b64] = m as unknown as [string, string, string];
  if (!SSH_KEY_TYPES.includes(type)) throw bad(`${JSON.stringify(type.slice(0, 40))} is not a key type (${SSH_KEY_TYPES.join(', ')})`);
  const blob = Buffer.from(b64, 'base64');
  if (blob.toString('base64') !== b64) throw bad('the key is not valid base64');
  // RFC 4253 §6.6: the blob is length-prefixed fields, the first the type;
  // a key cut short (or with bytes after it) does not come out even.
  const fields: Buffer[] = [];
  for (let at = 0; at < blob.length; ) {
    const n = at + 4 <= blob.length ? blob.readUInt32BE(at) : Infinity;
    if (at + 4 + n > blob.length) throw bad(`the key's data is cut short`);
    fields.push(blob.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  if (fields.length < 2 || fields[0]!.toString('latin1') !== type) throw bad(`the key's data is not a ${type} key`);
  if (type === 'ssh-ed25519' && fields[1]!.length !== 32) throw bad('an ed25519 key is 32 bytes');
  return key;
}
