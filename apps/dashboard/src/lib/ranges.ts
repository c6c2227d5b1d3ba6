/** Time ranges the overview offers, and the exact window each covers (UTC buckets). */
export const RANGE_PRESETS = ["24h", "7d", "30d", "90d"] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];

export const RANGE_LABELS: Record<RangePreset, string> = {
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  "90d": "Last 90 days",
};
export type Granularity = "hour" | "day";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export function bucketStart(date: Date, granularity: Granularity): Date {
  const step = granularity === "hour" ? HOUR : DAY;
  return new Date(Math.floor(date.getTime() / step) * step);
}

export function bucketStep(granularity: Granularity): number {
  return granularity === "hour" ? HOUR : DAY;
}

/** Whole buckets ending with the current one: 24 hours, or 7 / 30 / 90 UTC days. */
export function rangeWindow(
  preset: RangePreset,
  now: Date = new Date(),
): { from: Date; to: Date; granularity: Granularity } {
  const granularity: Granularity = preset === "24h" ? "hour" : "day";
  const count = preset === "24h" ? 24 : preset === "7d" ? 7 : preset === "30d" ? 30 : 90;
  const step = bucketStep(granularity);
  const to = new Date(bucketStart(now, granularity).getTime() + step);
  return { from: new Date(to.getTime() - count * step), to, granularity };
}

/** Hourly buckets up to three days, daily past that (a chart stays readable). */
export function granularityFor(from: Date, to: Date): Granularity {
  return to.getTime() - from.getTime() <= 3 * DAY ? "hour" : "day";
}

/** A custom range of whole UTC days, both ends inclusive ("2026-03-01".."2026-03-31"). */
export function dayRange(firstDay: string, lastDay: string): { from: Date; to: Date } | null {
  const from = new Date(`${firstDay}T00:00:00.000Z`);
  const last = new Date(`${lastDay}T00:00:00.000Z`);
  if (Number.isNaN(from.getTime()) || Number.isNaN(last.getTime()) || last < from) return null;
  return { from, to: new Date(last.getTime() + DAY) };
}
