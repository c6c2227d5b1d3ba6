/**
 * CSV (RFC 4180) for the dashboard's table exports: CRLF line ends; a field holding a
 * comma, a double quote, CR or LF is quoted, its quotes doubled. Money goes in as the
 * exact decimal USD string, so a spreadsheet sums it without float drift.
 */
export interface CsvColumn<T> {
  header: string;
  value: (row: T) => string | number | null;
}

export function csvField(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv<T>(columns: readonly CsvColumn<T>[], rows: readonly T[]): string {
  const lines = [columns.map((c) => csvField(c.header)).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvField(c.value(row))).join(","));
  return lines.join("\r\n") + "\r\n";
}
