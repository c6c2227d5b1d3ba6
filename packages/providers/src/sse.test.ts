import { describe, expect, it } from "vitest";
import { feedSse, feedSseOne, flushSse, initialSseState, type SseEvent } from "./sse";

function feedAll(pieces: string[]): SseEvent[] {
  let state = initialSseState;
  const out: SseEvent[] = [];
  for (const p of pieces) {
    const r = feedSse(state, p);
    state = r.state;
    out.push(...r.events);
  }
  out.push(...flushSse(state).events);
  return out;
}

describe("SSE parser", () => {
  it("yields whole events however the bytes are split, keeping the raw text", () => {
    const text = 'event: message\ndata: {"a":1}\n\n: keep-alive\n\ndata: line1\r\ndata: line2\r\n\r\ndata: [DONE]';
    for (const size of [1, 2, 3, 7, 1000]) {
      const pieces: string[] = [];
      for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
      const events = feedAll(pieces);
      expect(events.map((e) => e.raw).join("")).toBe(text);
      expect(events.map((e) => e.data)).toEqual(['{"a":1}', null, "line1\nline2", "[DONE]"]);
      expect(events[0]?.event).toBe("message");
    }
  });
});

describe("SSE parser, one event at a time", () => {
  it("finds the events feedSse finds, leaving the text after each unparsed", () => {
    const text = 'event: message\ndata: {"a":1}\n\n\n: keep-alive\n\ndata: line1\r\ndata: line2\r\n\r\ndata: x\r\rdata: [DONE]';
    for (const size of [1, 5, 1000]) {
      let state = initialSseState;
      const events: SseEvent[] = [];
      for (let i = 0; i < text.length; i += size) {
        let rest = text.slice(i, i + size);
        for (;;) {
          const one = feedSseOne(state, rest);
          state = one.state;
          if (one.event === null) break;
          events.push(one.event);
          rest = one.rest;
        }
      }
      events.push(...flushSse(state).events);
      expect(events).toEqual(feedAll([text]));
      expect(events.map((e) => e.raw).join("")).toBe(text);
    }
  });
});
