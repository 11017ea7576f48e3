// A reader for systemd-style INI files that keeps line numbers, because the
// contract wants every configuration error to name its file, line and key.
// Deliberately strict: the contract has no end-of-line comments (so '#' and
// ';' inside a value are part of it), no continuation lines, and a key given
// twice in one section is an error rather than a silent override.

export interface IniEntry {
  section: string;
  key: string;
  value: string;
  line: number;
}

export interface IniSection {
  name: string;
  line: number;
}

export interface IniFile {
  sections: IniSection[];
  entries: IniEntry[];
}

export class IniSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'IniSyntaxError';
  }
}

const SECTION = /^\[([A-Za-z0-9_.-]+)\]$/;
const ASSIGNMENT = /^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*)$/;

export function parseIni(text: string): IniFile {
  const entries: IniEntry[] = [];
  const sections: IniSection[] = [];
  const seen = new Set<string>();
  let section = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i]!.replace(/\r$/, '').trim();
    if (raw === '' || raw.startsWith('#') || raw.startsWith(';')) continue;
    const s = SECTION.exec(raw);
    if (s) {
      section = s[1]!;
      sections.push({ name: section, line });
      continue;
    }
    const a = ASSIGNMENT.exec(raw);
    if (!a) throw new IniSyntaxError(line, `expected "[Section]" or "Key=value", got ${JSON.stringify(raw)}`);
    if (section === '') throw new IniSyntaxError(line, `"${a[1]}" is outside any [Section]`);
    const id = `${section}\u0000${a[1]}`;
    if (seen.has(id)) throw new IniSyntaxError(line, `[${section}] ${a[1]} is set twice`);
    seen.add(id);
    entries.push({ section, key: a[1]!, value: a[2]!, line });
  }
  return { sections, entries };
}
