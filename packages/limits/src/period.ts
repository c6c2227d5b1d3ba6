/** Calendar budget periods, computed in the org's IANA time zone; weeks start on Monday. */
export type BudgetPeriod = "day" | "week" | "month";

interface LocalDate {
  year: number;
  month: number; // 1-12
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // Throws RangeError for an unknown time zone, which is what we want.
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock date and time of an instant in an IANA time zone (24 h clock). */
export function localParts(instantMs: number, timeZone: string) {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** Offset (ms) of the zone from UTC at an instant. */
function offsetAt(instantMs: number, timeZone: string): number {
  const l = localParts(instantMs, timeZone);
  const asUtc = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

/**
 * First instant of a local calendar day. Where midnight does not exist (a DST
 * jump at 00:00, e.g. America/Santiago), that is the first instant after the gap.
 */
function startOfLocalDay(d: LocalDate, timeZone: string): number {
  const wallMs = Date.UTC(d.year, d.month - 1, d.day);
  // Two passes settle the offset for every real zone.
  let guess = wallMs - offsetAt(wallMs, timeZone);
  guess = wallMs - offsetAt(guess, timeZone);
  const l = localParts(guess, timeZone);
  const sameDay = l.year === d.year && l.month === d.month && l.day === d.day;
  if (!sameDay) {
    // Midnight fell into a gap and we landed on the previous day's evening: step to the next local hour start.
    const nextHour = guess + (3600 - (l.minute * 60 + l.second)) * 1000;
    return nextHour;
  }
  if (l.hour !== 0 || l.minute !== 0) {
    // Landed after midnight (gap): look back for the earliest instant of the same day.
    let t = guess;
    while (true) {
      const prev = localParts(t - 60_000, timeZone);
      if (prev.day !== d.day) return t;
      t -= 60_000;
    }
  }
  return guess;
}

function addDays(d: LocalDate, n: number): LocalDate {
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + n));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

function periodStartDate(period: BudgetPeriod, today: LocalDate): LocalDate {
  switch (period) {
    case "day":
      return today;
    case "week": {
      const weekday = new Date(Date.UTC(today.year, today.month - 1, today.day)).getUTCDay(); // 0 = Sunday
      return addDays(today, -((weekday + 6) % 7));
    }
    case "month":
      return { year: today.year, month: today.month, day: 1 };
  }
}

/** The UTC instant at which the calendar period containing `now` began in `timeZone`. */
export function periodStart(period: BudgetPeriod, timeZone: string, now: Date): Date {
  const l = localParts(now.getTime(), timeZone);
  return new Date(startOfLocalDay(periodStartDate(period, l), timeZone));
}

/** The UTC instant at which the calendar period containing `now` ends (= the next one starts): when a budget resets. */
export function periodEnd(period: BudgetPeriod, timeZone: string, now: Date): Date {
  const start = periodStartDate(period, localParts(now.getTime(), timeZone));
  const next =
    period === "day"
      ? addDays(start, 1)
      : period === "week"
        ? addDays(start, 7)
        : start.month === 12
          ? { year: start.year + 1, month: 1, day: 1 }
          : { year: start.year, month: start.month + 1, day: 1 };
  return new Date(startOfLocalDay(next, timeZone));
}
