"use client";

import { toCsv, type CsvColumn } from "../lib/csv";
import { buttonClass } from "./form-bits";

/** Downloads exactly `rows` (the rows the table shows) as an RFC 4180 CSV file. */
export function CsvExportButton<T>({
  filename,
  columns,
  rows,
  testId,
}: {
  filename: string;
  columns: readonly CsvColumn<T>[];
  rows: readonly T[];
  testId: string;
}) {
  function download() {
    const blob = new Blob([toCsv(columns, rows)], { type: "text/csv;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    // Revoked later: some browsers read the URL after click() returns.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return (
    <button type="button" className={buttonClass} onClick={download} data-testid={testId}>
      Export CSV
    </button>
  );
}
