// Human output as aligned columns (like machinectl), and JSON.

export interface Column {
  readonly title: string;
  readonly right?: boolean;
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (columns[i]!.right ? cell.padStart(widths[i]!) : i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...rows.map(line)].join('\n') + '\n';
}

/** "Label: value" lines with the labels right-aligned, like machinectl status. */
export function fields(pairs: readonly (readonly [string, string])[]): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padStart(w)}: ${v}`).join('\n') + '\n';
}

export function json(v: unknown): string {
  return `${JSON.stringify(v)}\n`;
}

/** µs since the epoch as an ISO date; 0 (unknown) as "-". */
export function isoTime(us: number): string {
  return us > 0 ? new Date(Math.floor(us / 1000)).toISOString() : '-';
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What a list command prints: the rows as JSON, "No <things>.", or a table and its count. */
export function listing<R>(
  rows: readonly R[],
  asJson: boolean,
  columns: readonly Column[],
  cells: (r: R) => readonly string[],
  [one, many]: readonly [string, string],
): string {
  if (asJson) return json(rows);
  if (rows.length === 0) return `No ${many}.\n`;
  return table(columns, rows.map(cells)) + `\n${plural(rows.length, one, many)} listed.\n`;
}
