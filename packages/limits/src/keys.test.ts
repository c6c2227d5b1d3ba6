import { describe, expect, it } from "vitest";
import {
  budgetExpiredReservationsKey,
  budgetPeriodKeys,
  budgetReservationAmountsKey,
  budgetReservationExpiryKey,
  budgetReservedKey,
  budgetSpentKey,
  rateLimitKeys,
  rpmKey,
  tpmKey,
} from "./keys";

describe("kept key strings", () => {
  it("are the keys the layout names, for the window and scope asked, and change with them", () => {
    const o = { prefix: "t:keys:" };
    const expectRate = (scope: string, id: string, at: number) =>
      expect(rateLimitKeys(scope, id, at, o)).toEqual([rpmKey(scope, id, at, o), rpmKey(scope, id, at - 60, o), tpmKey(scope, id, at, o), tpmKey(scope, id, at - 60, o)]);
    expectRate("key", "k1", 600);
    const kept = rateLimitKeys("key", "k1", 600, o);
    expect(rateLimitKeys("key", "k1", 600, o)).toBe(kept); // the same array: nothing built
    expectRate("key", "k1", 660); // the next minute
    expectRate("team", "k1", 660); // same id, other scope
    expectRate("team", "k1", 660);
    expect(rateLimitKeys("team", "k1", 660, { prefix: "t:other:" })[0]).toBe(rpmKey("team", "k1", 660, { prefix: "t:other:" }));
    expect(rateLimitKeys("key", "k2", 600)[0]).toBe(rpmKey("key", "k2", 600)); // the default prefix

    const expectBudget = (id: string, at: number) =>
      expect(budgetPeriodKeys(id, at, o)).toEqual([
        budgetSpentKey(id, at, o),
        budgetReservedKey(id, at, o),
        budgetReservationAmountsKey(id, at, o),
        budgetReservationExpiryKey(id, at, o),
        budgetExpiredReservationsKey(id, at, o),
      ]);
    expectBudget("b1", 1_000);
    expect(budgetPeriodKeys("b1", 1_000, o)).toBe(budgetPeriodKeys("b1", 1_000, o));
    expectBudget("b1", 2_000); // the next period
    expectBudget("b2", 2_000);
  });
});
