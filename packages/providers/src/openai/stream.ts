import type { TokenUsage } from "@switchyard/contracts";
import { isSpace } from "../json-member";
import { feedSse, feedSseOne, flushSse, initialSseState, type SseEvent, type SseParserState } from "../sse";
import type { StreamStep } from "../types";
import { toTokenUsage } from "./usage";

/** Everything the OpenAI stream transform remembers between chunks. */
export interface OpenAiStreamState {
  readonly sse: SseParserState;
  readonly clientWantsUsage: boolean;
  readonly usage: TokenUsage | null;
  readonly sawContent: boolean;
  readonly done: boolean;
}

export function initOpenAiStreamState(opts: { clientWantsUsage: boolean }): OpenAiStreamState {
  return { sse: initialSseState, clientWantsUsage: opts.clientWantsUsage, usage: null, sawContent: false, done: false };
}

/**
 * The next state, written out as one literal: `{ ...state, sse, … }` cost ~14× as much on
 * Node 20's V8 (a spread copy whose fields are then redefined goes through the runtime),
 * and this runs for every event up to the first content.
 */
function nextState(state: OpenAiStreamState, sse: SseParserState, usage: TokenUsage | null, sawContent: boolean, done: boolean): OpenAiStreamState {
  return { sse, clientWantsUsage: state.clientWantsUsage, usage, sawContent, done };
}

interface ChunkShape {
  choices?: { delta?: { content?: unknown; tool_calls?: unknown; refusal?: unknown; reasoning_content?: unknown } }[];
  usage?: unknown;
}

/**
 * Where the first `"usage"` key followed by `:` and `{` starts in `text`, or -1. JSON
 * escapes quotes inside strings, so that sequence only ever appears as the key itself; a
 * false positive would only cost a parse. Chunks after the first content that cannot carry
 * usage are forwarded without parsing (most of a stream). indexOf and a look at what follows,
 * not a RegExp: every OpenAI chunk has `"usage":null`, and the RegExp cost several times as
 * much per stream.
 */
export function usageObjectAt(text: string, from = 0): number {
  // The needle is `usage"`, the quote before it checked here: V8 finds a needle's first
  // character with memchr, and in JSON a quote comes every few characters where a "u" is
  // rare. A 7-character needle also made V8 build a Boyer-Moore-Horspool table on every
  // call. At sse c=16 the stream's string searches fell from ~32k to ~19k instructions a
  // request (of ~575k) with this needle.
  for (let u = text.indexOf('usage"', from + 1); u !== -1; u = text.indexOf('usage"', u + 6)) {
    if (text.charCodeAt(u - 1) !== 34 /* " */) continue;
    let i = skipJsonSpace(text, u + 6);
    if (text.charCodeAt(i) !== 58 /* : */) continue;
    i = skipJsonSpace(text, i + 1);
    if (text.charCodeAt(i) === 123 /* { */) return u - 1;
  }
  return -1;
}

function skipJsonSpace(text: string, i: number): number {
  while (isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The delta fields whose non-empty value is content (see hasContent). */
const CONTENT_KEYS = ['content"', 'tool_calls"', 'refusal"', 'reasoning_content"'];

/**
 * False only when `text` certainly has no content: no key named like a content field
 * (see hasContent) has a non-empty string or a non-empty array as its value, wherever it
 * sits. A role-only first chunk (`"content":"","refusal":null`, no usage object) is then
 * forwarded as it came, without a JSON.parse (~1.8 µs against ~0.45 µs for these searches;
 * a chunk with content stops at its first key, ~0.1 µs). True means "parse to know": the
 * key may sit elsewhere than in a delta, or the value may be a string that starts with an
 * escape. Quotes inside JSON strings are escaped, so a quoted name followed by `:` is a
 * key, not text. A key written with escapes (`"cont\u0065nt"`) is not seen.
 */
export function mayHaveContent(text: string): boolean {
  for (const key of CONTENT_KEYS) {
    for (let k = text.indexOf(key); k !== -1; k = text.indexOf(key, k + key.length)) {
      if (k === 0 || text.charCodeAt(k - 1) !== 34 /* " */) continue;
      let i = skipJsonSpace(text, k + key.length);
      if (text.charCodeAt(i) !== 58 /* : */) continue;
      i = skipJsonSpace(text, i + 1);
      const open = text.charCodeAt(i);
      if (open === 34 /* " */ && text.charCodeAt(i + 1) !== 34) return true;
      if (open === 91 /* [ */ && text.charCodeAt(skipJsonSpace(text, i + 1)) !== 93 /* ] */) return true;
    }
  }
  return false;
}

const nonEmpty = (v: unknown) => (typeof v === "string" ? v.length > 0 : Array.isArray(v) ? v.length > 0 : false);

function hasContent(chunk: ChunkShape): boolean {
  return (chunk.choices ?? []).some((c) => {
    const d = c.delta;
    return d !== undefined && (nonEmpty(d.content) || nonEmpty(d.tool_calls) || nonEmpty(d.refusal) || nonEmpty(d.reasoning_content));
  });
}

function applyEvents(state: OpenAiStreamState, sse: SseParserState, events: SseEvent[]): StreamStep<OpenAiStreamState> {
  let { usage, sawContent, done } = state;
  let output = "";
  let firstContent = false;
  for (const ev of events) {
    if (ev.data === null) {
      output += ev.raw;
      continue;
    }
    if (ev.data.trim() === "[DONE]") {
      done = true;
      output += ev.raw;
      continue;
    }
    // Nothing to read in it: no usage object, and content either seen already or certainly absent.
    if ((sawContent || !mayHaveContent(ev.data)) && usageObjectAt(ev.data) === -1) {
      output += ev.raw;
      continue;
    }
    let chunk: ChunkShape;
    try {
      chunk = JSON.parse(ev.data) as ChunkShape;
    } catch {
      output += ev.raw; // not ours to judge; forward untouched
      continue;
    }
    const chunkUsage = toTokenUsage(chunk.usage);
    if (chunkUsage) usage = chunkUsage;
    if (!sawContent && hasContent(chunk)) {
      sawContent = true;
      firstContent = true;
    }
    // The usage-only chunk exists because we asked for it; a client that did not ask never sees it.
    const usageOnly = chunkUsage !== null && Array.isArray(chunk.choices) && chunk.choices.length === 0;
    if (usageOnly && !state.clientWantsUsage) continue;
    output += ev.raw;
  }
  return { state: nextState(state, sse, usage, sawContent, done), output, firstContent };
}

/**
 * How much of `text` (after the first content, nothing buffered) is whole events that
 * applyEvents would forward untouched: everything before the first event that can carry
 * usage or is `[DONE]`, up to its last "\n\n" terminator. 0 when the fast path does not
 * apply (CR line endings, or an ambiguous run of blank lines at the cut).
 */
function untouchedPrefix(text: string): number {
  if (text.includes("\r")) return 0;
  const usage = usageObjectAt(text);
  const done = text.indexOf("[DONE]");
  let stop = text.length;
  if (usage !== -1) stop = usage;
  if (done !== -1 && done < stop) stop = done;
  if (stop < 2) return 0;
  const at = text.lastIndexOf("\n\n", stop - 2);
  if (at === -1 || (at > 0 && text[at - 1] === "\n")) return 0;
  return at + 2;
}

export function transformOpenAiStream(state: OpenAiStreamState, text: string): StreamStep<OpenAiStreamState> {
  // Most of a stream, once content has started: forwarded as it came, without splitting it into events.
  if (state.sawContent && state.sse.buffer === "") {
    const cut = untouchedPrefix(text);
    if (cut === text.length) return { state, output: text, firstContent: false };
    if (cut > 0) {
      const rest = transformOpenAiStream(state, text.slice(cut));
      return { state: rest.state, output: text.slice(0, cut) + rest.output, firstContent: rest.firstContent };
    }
  }
  if (!state.sawContent) {
    // Up to the first content, event by event; the rest of the piece then takes the path
    // above instead of being split into events (a provider that sends the whole stream in
    // one piece, or a fast one, sends most of it in the first).
    let current = state;
    let output = "";
    let firstContent = false;
    let rest = text;
    while (!current.sawContent) {
      const one = feedSseOne(current.sse, rest);
      if (one.event === null) return { state: nextState(current, one.state, current.usage, current.sawContent, current.done), output, firstContent };
      const step = applyEvents(current, one.state, [one.event]);
      current = step.state;
      output += step.output;
      firstContent ||= step.firstContent;
      rest = one.rest;
    }
    if (rest === "") return { state: current, output, firstContent };
    const after = transformOpenAiStream(current, rest);
    return { state: after.state, output: output + after.output, firstContent: firstContent || after.firstContent };
  }
  const { state: sse, events } = feedSse(state.sse, text);
  return applyEvents(state, sse, events);
}

export function finishOpenAiStream(state: OpenAiStreamState): StreamStep<OpenAiStreamState> {
  const { state: sse, events } = flushSse(state.sse);
  return applyEvents(state, sse, events);
}
