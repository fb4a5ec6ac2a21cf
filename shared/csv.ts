/** One CSV field (RFC 4180): quoted when it holds a comma, a double quote or a line break, quotes doubled. */
function csvField(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Lines of fields as RFC 4180 CSV, every line ended by CRLF. */
export function csvOfLines(lines: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  return lines.map((l) => `${l.map(csvField).join(',')}\r\n`).join('');
}
