import { describe, expect, it } from "vitest";
import { conditionText, emptyRouteDraft, emptyTarget, parsePairs, routeDraftOf, routeSettingsOf } from "./route-form";

describe("parsePairs", () => {
  it("reads k=v pairs with | alternatives, and refuses a pair without a value", () => {
    expect(parsePairs("tier=gold|platinum, region = eu")).toEqual({ pairs: { tier: ["gold", "platinum"], region: "eu" } });
    expect(parsePairs("  ")).toEqual({ pairs: null });
    // A tag named "error" is a tag like any other.
    expect(parsePairs("error=rate")).toEqual({ pairs: { error: "rate" } });
    expect(parsePairs("tier")).toEqual({ error: '"tier" is not k=v.' });
    expect(parsePairs("tier=")).toEqual({ error: '"tier=" is not k=v.' });
  });
});

describe("routeSettingsOf", () => {
  it("sends weights and sticky only for weighted routes", () => {
    const d = { ...emptyRouteDraft(), alias: " chat ", strategy: "weighted" as const, sticky: true };
    d.targets = [{ ...emptyTarget("a"), weight: "3", tags: "x=1" }, emptyTarget("b")];
    expect(routeSettingsOf(d)).toEqual({
      alias: "chat",
      strategy: "weighted",
      strict: false,
      targets: [
        { model: "a", weight: 3 },
        { model: "b", weight: 1 },
      ],
      options: { sticky: true },
    });
    expect(routeSettingsOf({ ...d, strategy: "fallback" })).toMatchObject({ targets: [{ model: "a" }, { model: "b" }], options: {} });
  });

  it("sends conditions for conditional routes, and names the field of a bad one", () => {
    const d = { ...emptyRouteDraft(), alias: "c", strategy: "conditional" as const };
    d.targets = [{ ...emptyTarget("a"), tags: "tier=gold|platinum", headers: "x-env=prod", user: "u1|u2" }, emptyTarget("b")];
    expect(routeSettingsOf(d)).toMatchObject({
      targets: [{ model: "a", when: { tags: { tier: ["gold", "platinum"] }, headers: { "x-env": "prod" }, user: ["u1", "u2"] } }, { model: "b" }],
    });
    d.targets[0] = { ...emptyTarget("a"), metadata: "oops" };
    expect(routeSettingsOf(d)).toEqual({ error: 'Target 1 metadata: "oops" is not k=v.' });
  });

  it("round-trips every option through the form", () => {
    const stored = {
      alias: "r",
      strategy: "fallback",
      strict: true,
      targets: [{ model: "a" }],
      options: {
        maxTokens: { default: 256, cap: 1024 },
        cache: { ttlSeconds: 60, scope: "team" as const, semantic: { embeddingModel: "e", threshold: 0.9, maxTemperature: 0.1 } },
        retry: { maxAttempts: 2, deadlineMs: 5000, onEmptyLength: true },
      },
    };
    expect(routeSettingsOf(routeDraftOf(stored))).toEqual(stored);
  });
});

describe("conditionText", () => {
  it("shows a condition on one line", () => {
    expect(conditionText({ tags: { tier: ["gold", "platinum"] }, user: "u-1" })).toBe("tags tier=gold|platinum; user u-1");
    expect(conditionText(undefined)).toBe("");
  });
});
