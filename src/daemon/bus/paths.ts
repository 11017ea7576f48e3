// Object paths. Domain objects live at /org/domud/Domud1/domain/<label>,
// where <label> is the name escaped as systemd's bus_label_escape does.

export const BUS_NAME = 'org.domud.Domud1';
export const MANAGER_PATH = '/org/domud/Domud1';
export const DOMAIN_PREFIX = '/org/domud/Domud1/domain';
export const IMAGE_PREFIX = '/org/domud/Domud1/image';
export const JOB_PREFIX = '/org/domud/Domud1/job';

/** Every byte outside [A-Za-z0-9] becomes _xx; a leading digit too; "" is "_". */
export function labelEscape(s: string): string {
  if (s === '') return '_';
  let out = '';
  const bytes = Buffer.from(s, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const alpha = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
    const digit = b >= 0x30 && b <= 0x39;
    if (alpha || (digit && i > 0)) out += String.fromCharCode(b);
    else out += `_${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The inverse; null for a label that no escape could have produced. */
export function labelUnescape(label: string): string | null {
  if (label === '_') return '';
  const bytes: number[] = [];
  for (let i = 0; i < label.length; i++) {
    const c = label[i]!;
    if (c === '_') {
      const hex = label.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (/[A-Za-z0-9]/.test(c)) {
      bytes.push(c.charCodeAt(0));
    } else {
      return null;
    }
  }
  const s = Buffer.from(bytes).toString('utf8');
  return labelEscape(s) === label ? s : null;
}

export function domainPath(name: string): string {
  return `${DOMAIN_PREFIX}/${labelEscape(name)}`;
}

/** Image objects: /org/domud/Domud1/image/<label>, escaped as domain names are. */
export function imagePath(name: string): string {
  return `${IMAGE_PREFIX}/${labelEscape(name)}`;
}

/** Job objects: /org/domud/Domud1/job/<number>. */
export function jobPath(id: number): string {
  return `${JOB_PREFIX}/${id}`;
}

/** The job number in a job path's last element, or null. */
export function jobId(label: string): number | null {
  return /^[1-9][0-9]{0,15}$/.test(label) ? Number(label) : null;
}
