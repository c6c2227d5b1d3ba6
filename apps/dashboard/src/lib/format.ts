/**
 * Display helpers shared by server and client. Money arrives as an exact decimal USD
 * string ("12.345000000"); it is rounded for display here, never summed as a float.
 */

/** "12.345678900" → "$12.35"; sub-cent amounts keep up to 6 decimals ("$0.000123"). */
export function formatUsd(usd: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(usd);
  if (!m) return usd;
  const sign = m[1] ?? "";
  const whole = m[2] ?? "0";
  const frac = (m[3] ?? "").padEnd(9, "0").slice(0, 9);
  const nano = BigInt(whole) * 1_000_000_000n + BigInt(frac);
  const digits = nano !== 0n && nano < 10_000_000n ? 6 : 2;
  const unit = 10n ** BigInt(9 - digits);
  const rounded = (nano + unit / 2n) / unit;
  const scale = 10n ** BigInt(digits);
  const wholePart = (rounded / scale).toLocaleString("en-US");
  const fracPart = (rounded % scale).toString().padStart(digits, "0");
  return `${sign}$${wholePart}.${fracPart}`;
}

export function formatInt(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio !== 0 && ratio < 0.001 ? 3 : 1)}%`;
}

export function formatMs(ms: number | null): string {
  if (ms === null) return "—";
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function formatDateTime(date: Date): string {
  return date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

/** "11-26 16:49:02" (UTC): compact, for dense tables; the full timestamp goes in a title. */
export function formatShortDateTime(date: Date): string {
  return date.toISOString().slice(5, 19).replace("T", " ");
}
