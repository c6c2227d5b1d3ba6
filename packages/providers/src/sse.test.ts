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

/** The pieces read with feedSseOne, event after event, then flushed. */
function feedOneByOne(pieces: string[]): SseEvent[] {
  let state = initialSseState;
  const events: SseEvent[] = [];
  for (const piece of pieces) {
    for (let rest = piece; ; ) {
      const one = feedSseOne(state, rest);
      state = one.state;
      if (one.event === null) break;
      events.push(one.event);
      rest = one.rest;
    }
  }
  events.push(...flushSse(state).events);
  return events;
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
      const pieces: string[] = [];
      for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
      const events = feedOneByOne(pieces);
      expect(events).toEqual(feedAll([text]));
      expect(events.map((e) => e.raw).join("")).toBe(text);
    }
  });
});

/** The parser as first written (RegExp terminator, lines split by RegExp): what the faster one must agree with. */
function referenceEvents(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const fields = (block: string) => {
    let event: string | null = null;
    const data: string[] = [];
    for (const line of block.split(/\r\n|\r|\n/)) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
    }
    return { event, data: data.length > 0 ? data.join("\n") : null };
  };
  const re = /\r\n\r\n|\n\n|\r\r/g;
  let start = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const end = m.index + m[0].length;
    events.push({ raw: text.slice(start, end), ...fields(text.slice(start, m.index)) });
    start = end;
  }
  if (start < text.length) events.push({ raw: text.slice(start), ...fields(text.slice(start)) });
  return events;
}

describe("SSE parser against the reference", () => {
  it("parses random streams with every line ending, comment and field form as the reference does", () => {
    // A small deterministic generator (no Math.random: a failure must reproduce).
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const parts = ["data: x", "data:y", "data", "data:  two spaces", "event: e", "event:", ": comment", "id: 3", "retry", 'data: {"a":":"}', "dat: a", "datax: b", "events: z", "", "é data: ü"];
    const endings = ["\n", "\r\n", "\r"];
    for (let round = 0; round < 300; round++) {
      let text = "";
      const lines = 1 + next(12);
      for (let i = 0; i < lines; i++) text += (parts[next(parts.length)] ?? "") + (endings[next(endings.length)] ?? "");
      const expected = referenceEvents(text);
      expect(feedAll([text])).toEqual(expected);
      // One event at a time, as the OpenAI transform reads up to the first content.
      expect(feedOneByOne([text])).toEqual(expected);
      const size = 1 + next(6);
      const pieces: string[] = [];
      for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
      // A "\r" at the end of a piece may be half of a "\r\n": feeding piecewise can only differ there.
      if (!pieces.some((p) => p.endsWith("\r"))) expect(feedAll(pieces)).toEqual(expected);
    }
  });
});
