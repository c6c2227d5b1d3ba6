/** Time ranges the overview offers, and the exact window each covers (UTC buckets). */
export const RANGE_PRESETS = ["24h", "7d", "30d"] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];
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

/** Whole buckets ending with the current one: 24 hours, or 7 / 30 UTC days. */
export function rangeWindow(
  preset: RangePreset,
  now: Date = new Date(),
): { from: Date; to: Date; granularity: Granularity } {
  const granularity: Granularity = preset === "24h" ? "hour" : "day";
  const count = preset === "24h" ? 24 : preset === "7d" ? 7 : 30;
  const step = bucketStep(granularity);
  const to = new Date(bucketStart(now, granularity).getTime() + step);
  return { from: new Date(to.getTime() - count * step), to, granularity };
}
