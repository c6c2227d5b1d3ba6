import { describe, expect, it } from "vitest";
import { newRequestContext, newRequestId } from "./context";

describe("request ids", () => {
  it("are req_ and 32 hex digits, all different, across refills of the random pool", () => {
    const ids = Array.from({ length: 2000 }, () => newRequestId());
    for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // 128 random bits: every hex digit turns up at every position over this many ids.
    for (let pos = 4; pos < 36; pos++) expect(new Set(ids.map((id) => id[pos])).size).toBe(16);
    expect(newRequestContext("POST", "/v1/chat/completions").requestId).toMatch(/^req_[0-9a-f]{32}$/);
  });
});
