import { describe, expect, it } from "vitest";
import { listFixtures, readFixture } from "@switchyard/mock-upstream/fixtures";
import { topLevelMember } from "./json-member";
import { extractOpenAiChatUsage, extractOpenAiChatUsageFromBytes } from "./openai";

/** What JSON.parse says the member is: its value re-serialised, or undefined. */
function viaParse(text: string, name: string): string | undefined {
  const v = (JSON.parse(text) as Record<string, unknown>)[name];
  return v === undefined ? undefined : JSON.stringify(v);
}

function viaScan(text: string, name: string): string | undefined | null {
  const raw = topLevelMember(Buffer.from(text), name);
  return typeof raw === "string" ? JSON.stringify(JSON.parse(raw)) : raw;
}

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['"', "\\", "\\\\", '\\"', "usage", '"usage"', '"usage":', "{", "}", "[", "]", ",", ":", "é", "—", "😀", " ", "\n", "x".repeat(60)];

function randomString(r: () => number): string {
  let s = "";
  const n = Math.floor(r() * 8);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  return s;
}

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 4 : 7));
  if (k === 0) return randomString(r);
  if (k === 1) return Math.floor(r() * 1e6) / (r() < 0.5 ? 1 : 7);
  if (k === 2) return r() < 0.5 ? null : r() < 0.5;
  if (k === 3) return randomString(r);
  if (k === 4) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
  return randomObject(r, depth + 1);
}

function randomObject(r: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) o[r() < 0.3 ? "usage" : randomString(r)] = randomValue(r, depth);
  return o;
}

describe("topLevelMember", () => {
  it("finds what JSON.parse finds in every recorded provider reply that is a JSON object", () => {
    let checked = 0;
    for (const name of listFixtures().filter((f) => f.endsWith(".json"))) {
      const text = readFixture(name);
      if (!text.trimStart().startsWith("{")) continue;
      for (const member of ["usage", "choices", "id", "usageMetadata", "meta", "nope"]) {
        expect(viaScan(text, member), `${name}: ${member}`).toEqual(viaParse(text, member));
      }
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });

  it("agrees with JSON.parse on random objects full of quotes, backslashes, brackets and 'usage' in strings and nested keys", () => {
    const r = rng(7);
    let found = 0;
    for (let i = 0; i < 3000; i++) {
      const o = randomObject(r, 0);
      if (r() < 0.5) o.usage = randomValue(r, 1);
      const text = JSON.stringify(o, null, r() < 0.3 ? 2 : undefined);
      const expected = viaParse(text, "usage");
      expect(viaScan(text, "usage"), text).toEqual(expected);
      if (expected !== undefined) found++;
    }
    expect(found).toBeGreaterThan(1000);
  });

  it("takes the last of duplicate members, as JSON.parse does", () => {
    expect(viaScan('{"usage":{"a":1},"x":2,"usage":{"a":3}}', "usage")).toBe('{"a":3}');
  });

  it("finds a top-level member followed by nested ones of the same name", () => {
    expect(viaScan('{"usage":{"a":1},"x":{"usage":2},"y":[{"usage":3}]}', "usage")).toBe('{"a":1}');
    expect(viaScan('{"usage" : [1,{"b":"}"}] , "z":"\\\\"}', "usage")).toBe('[1,{"b":"}"}]');
  });

  it("does not take a member of a nested object, or a string's content, for a top-level one", () => {
    const text = '{"choices":[{"message":{"usage":1,"content":"\\"usage\\":{\\"prompt_tokens\\":5}"}}],"x_groq":{"usage":{"prompt_tokens":9}}}';
    expect(topLevelMember(Buffer.from(text), "usage")).toBeUndefined();
  });

  it("handles escapes at every distance from the start of a long string", () => {
    for (let pad = 0; pad < 120; pad++) {
      const text = JSON.stringify({ content: `${"a".repeat(pad)}\\"}],{"usage":0}`, usage: { n: pad } });
      expect(viaScan(text, "usage")).toBe(JSON.stringify({ n: pad }));
    }
  });

  it("refuses what is not one JSON object: null, so the caller parses the whole text", () => {
    for (const text of ["", "  ", "[]", '"usage"', '{"usage":1', '{"usage":"x}', '{"a":[1}', '{"a":{]}', '{"usage":1}}', '{"usage":1} x', '{"usage" 1}', "{:1}"]) {
      expect(topLevelMember(Buffer.from(text), "usage"), text).toBeNull();
    }
  });

  it("reads an OpenAI reply's usage from its bytes as from the parsed body, with non-ASCII text", () => {
    const body = {
      id: "chatcmpl-1",
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content: "Galaxy Day — a celebration, “quoted” 😀 \"usage\": {}" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 16, completion_tokens: 363, total_tokens: 379, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 7 } },
    };
    const bytes = Buffer.from(JSON.stringify(body));
    expect(extractOpenAiChatUsageFromBytes(bytes)).toEqual(extractOpenAiChatUsage(body));
    expect(extractOpenAiChatUsageFromBytes(bytes)).toMatchObject({ inputTokens: 16, outputTokens: 363, cachedInputTokens: 4, reasoningTokens: 7 });
    expect(extractOpenAiChatUsageFromBytes(Buffer.from('{"choices":[]}'))).toBeNull();
    expect(extractOpenAiChatUsageFromBytes(Buffer.from("<html>502</html>"))).toBeUndefined();
  });
});
