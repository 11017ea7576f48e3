// GRUB script quoting. A value goes in single quotes, where GRUB expands
// nothing ($, ;, { and } are plain text); a ' inside is written '\'' (close,
// escaped quote, reopen), the same rule as grub-mkconfig_lib's grub_quote.
// Control characters have no safe spelling in a menu line, so they are refused.

export class GrubValueError extends Error {
  readonly code = 'GrubValueInvalid';
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(`${field} ${JSON.stringify(value)} contains a control character; GRUB menu values must be one printable line`);
  }
}

export function quote(value: string, field = 'value'): string {
  if (/[\x00-\x1f\x7f]/.test(value)) throw new GrubValueError(field, value);
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Words of one GRUB script line, with quotes removed: '...' is literal,
 * "..." and bare words take \ as an escape. Variables stay as written.
 * Enough to read the file names in menu lines back; not a full parser.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      if (word !== null) words.push(word);
      word = null;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      const stop = end < 0 ? line.length : end;
      word = (word ?? '') + line.slice(i + 1, stop);
      i = stop + 1;
    } else if (c === '"') {
      word ??= '';
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) i++;
        word += line[i];
        i++;
      }
      i++;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[i + 1];
      i += 2;
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  if (word !== null) words.push(word);
  return words;
}
