import { describe, expect, it } from "vitest";
import { periodEnd, periodStart, type BudgetPeriod } from "./period";

const start = (p: BudgetPeriod, tz: string, iso: string) => periodStart(p, tz, new Date(iso)).toISOString();
const end = (p: BudgetPeriod, tz: string, iso: string) => periodEnd(p, tz, new Date(iso)).toISOString();

describe("periodStart / periodEnd", () => {
  it("days in UTC and in a zone ahead of UTC", () => {
    expect(start("day", "UTC", "2026-11-26T18:00:00Z")).toBe("2026-11-26T00:00:00.000Z");
    expect(end("day", "UTC", "2026-11-26T18:00:00Z")).toBe("2026-11-27T00:00:00.000Z");
    // 23:30 UTC is already the 27th in Tokyo
    expect(start("day", "Asia/Tokyo", "2026-11-26T23:30:00Z")).toBe("2026-11-26T15:00:00.000Z");
  });

  it("weeks start on Monday", () => {
    // 2026-11-26 is a Thursday; Sunday 2026-11-29 still belongs to that week
    expect(start("week", "UTC", "2026-11-26T12:00:00Z")).toBe("2026-11-23T00:00:00.000Z");
    expect(start("week", "UTC", "2026-11-29T23:59:59Z")).toBe("2026-11-23T00:00:00.000Z");
    expect(start("week", "UTC", "2026-11-30T00:00:00Z")).toBe("2026-11-30T00:00:00.000Z");
    expect(end("week", "UTC", "2026-11-26T12:00:00Z")).toBe("2026-11-30T00:00:00.000Z");
  });

  it("months, including leap February, year end and a half-hour zone", () => {
    expect(start("month", "UTC", "2024-02-29T23:59:59Z")).toBe("2024-02-01T00:00:00.000Z");
    expect(end("month", "UTC", "2024-02-29T23:59:59Z")).toBe("2024-03-01T00:00:00.000Z");
    expect(end("month", "UTC", "2026-12-31T12:00:00Z")).toBe("2027-01-01T00:00:00.000Z");
    // 20:00 UTC on Feb 29 is already March 1st 01:30 in Kolkata (+05:30)
    expect(start("month", "Asia/Kolkata", "2024-02-29T20:00:00Z")).toBe("2024-02-29T18:30:00.000Z");
    // and 2024-03-31T23:30Z is April 1st in Berlin (CEST, +02:00)
    expect(start("month", "Europe/Berlin", "2024-03-31T23:30:00Z")).toBe("2024-03-31T22:00:00.000Z");
  });

  it("DST: days that are 23 and 25 hours long", () => {
    // Berlin springs forward on 2024-03-31: the day starts at +01:00 and ends at +02:00
    expect(start("day", "Europe/Berlin", "2024-03-31T12:00:00Z")).toBe("2024-03-30T23:00:00.000Z");
    expect(end("day", "Europe/Berlin", "2024-03-31T12:00:00Z")).toBe("2024-03-31T22:00:00.000Z");
    // New York falls back on 2024-11-03; the week began on Monday Oct 28 under EDT and ends under EST
    expect(start("week", "America/New_York", "2024-11-03T12:00:00Z")).toBe("2024-10-28T04:00:00.000Z");
    expect(end("week", "America/New_York", "2024-11-03T12:00:00Z")).toBe("2024-11-04T05:00:00.000Z");
    expect(end("day", "America/New_York", "2024-11-03T12:00:00Z")).toBe("2024-11-04T05:00:00.000Z");
  });

  it("DST at midnight: a day whose 00:00 does not exist starts at the first instant after the gap", () => {
    // Chile skips 00:00-01:00 on 2024-09-08: the day starts at 01:00 -03 = 04:00Z
    expect(start("day", "America/Santiago", "2024-09-08T12:00:00Z")).toBe("2024-09-08T04:00:00.000Z");
    expect(end("day", "America/Santiago", "2024-09-07T12:00:00Z")).toBe("2024-09-08T04:00:00.000Z");
    expect(end("day", "America/Santiago", "2024-09-08T12:00:00Z")).toBe("2024-09-09T03:00:00.000Z");
  });

  it("rejects an unknown time zone", () => {
    expect(() => periodStart("day", "Mars/Olympus", new Date())).toThrow(RangeError);
  });
});
