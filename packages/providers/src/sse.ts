/**
 * An incremental Server-Sent Events parser, as a pure function over a tiny state: feed
 * text as it arrives, get back whole events with their raw text (so they can be
 * forwarded byte for byte) and their parsed `event`/`data` fields.
 */
export interface SseParserState {
  /** Text received but not yet terminated by a blank line. */
  readonly buffer: string;
}

export interface SseEvent {
  /** The event exactly as received, including its blank-line terminator. */
  raw: string;
  /** `event:` field, null when absent. */
  event: string | null;
  /** `data:` lines joined with "\n"; null for an event with no data (e.g. a comment). */
  data: string | null;
}

export const initialSseState: SseParserState = { buffer: "" };

const TERMINATOR = /\r\n\r\n|\n\n|\r\r/g;

/**
 * Where the first event of `text` from `from` ends: the index of its blank-line terminator
 * and the terminator's length, or null. Text without "\r" (what nearly every provider
 * sends) is searched with indexOf; a RegExp search cost several times as much per event.
 */
function findTerminator(text: string, from: number, hasCr: boolean): { at: number; length: number } | null {
  if (!hasCr) {
    const at = text.indexOf("\n\n", from);
    return at === -1 ? null : { at, length: 2 };
  }
  TERMINATOR.lastIndex = from;
  const m = TERMINATOR.exec(text);
  return m === null ? null : { at: m.index, length: m[0].length };
}

/** Adds one line's field to what the block has so far (the SSE field rules: "data" lines join with "\n"). */
function addField(fields: { event: string | null; data: string | null }, line: string): void {
  if (line === "" || line.charCodeAt(0) === 58 /* ":" a comment */) return;
  const colon = line.indexOf(":");
  const field = colon === -1 ? line : line.slice(0, colon);
  let value = colon === -1 ? "" : line.slice(colon + 1);
  if (value.charCodeAt(0) === 32) value = value.slice(1);
  if (field === "data") fields.data = fields.data === null ? value : `${fields.data}\n${value}`;
  else if (field === "event") fields.event = value;
}

/**
 * The `event` and `data` fields of the block text[start, end). Lines end with \r\n, \r or
 * \n; a text without "\r" is cut at each "\n" with indexOf (a RegExp split cost several
 * times as much per event).
 */
function parseFields(text: string, start: number, end: number, hasCr: boolean): Pick<SseEvent, "event" | "data"> {
  const fields: { event: string | null; data: string | null } = { event: null, data: null };
  if (hasCr) {
    for (const line of text.slice(start, end).split(/\r\n|\r|\n/)) addField(fields, line);
    return fields;
  }
  for (let lineStart = start; lineStart < end; ) {
    const nl = text.indexOf("\n", lineStart);
    const lineEnd = nl === -1 || nl > end ? end : nl;
    addField(fields, text.slice(lineStart, lineEnd));
    lineStart = lineEnd + 1;
  }
  return fields;
}

export function feedSse(state: SseParserState, text: string): { state: SseParserState; events: SseEvent[] } {
  const buffer = state.buffer + text;
  const hasCr = buffer.includes("\r");
  const events: SseEvent[] = [];
  let start = 0;
  for (let t = findTerminator(buffer, 0, hasCr); t !== null; t = findTerminator(buffer, start, hasCr)) {
    const end = t.at + t.length;
    const fields = parseFields(buffer, start, t.at, hasCr);
    events.push({ raw: buffer.slice(start, end), event: fields.event, data: fields.data });
    start = end;
  }
  return { state: { buffer: start === 0 ? buffer : buffer.slice(start) }, events };
}

/**
 * The first whole event of what is buffered plus `text`, and the text after it, not yet
 * parsed: for a caller that reads events one by one only up to some point (the rest may
 * need no parsing at all). No whole event yet: `event` is null and everything is buffered.
 * Reading a text this way, event after event, finds the same events as feedSse.
 */
export function feedSseOne(state: SseParserState, text: string): { state: SseParserState; event: SseEvent | null; rest: string } {
  const buffer = state.buffer + text;
  // Only the first event's text is looked at for a CR, not all of it: a caller reads a long
  // text this way event after event, and must not scan all the rest each time.
  const nn = buffer.indexOf("\n\n");
  const hasCr = (nn === -1 ? buffer : buffer.slice(0, nn)).includes("\r");
  const t = hasCr ? findTerminator(buffer, 0, true) : nn === -1 ? null : { at: nn, length: 2 };
  if (t === null) return { state: { buffer }, event: null, rest: "" };
  const end = t.at + t.length;
  const fields = parseFields(buffer, 0, t.at, hasCr);
  return { state: initialSseState, event: { raw: buffer.slice(0, end), event: fields.event, data: fields.data }, rest: buffer.slice(end) };
}

/** End of input: a trailing event without its blank line is still an event. */
export function flushSse(state: SseParserState): { state: SseParserState; events: SseEvent[] } {
  if (state.buffer === "") return { state: initialSseState, events: [] };
  const fields = parseFields(state.buffer, 0, state.buffer.length, state.buffer.includes("\r"));
  return { state: initialSseState, events: [{ raw: state.buffer, event: fields.event, data: fields.data }] };
}
