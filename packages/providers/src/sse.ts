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

function parseFields(block: string): Pick<SseEvent, "event" | "data"> {
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
}

export function feedSse(state: SseParserState, text: string): { state: SseParserState; events: SseEvent[] } {
  const buffer = state.buffer + text;
  const events: SseEvent[] = [];
  let start = 0;
  TERMINATOR.lastIndex = 0;
  for (let m = TERMINATOR.exec(buffer); m !== null; m = TERMINATOR.exec(buffer)) {
    const end = m.index + m[0].length;
    const raw = buffer.slice(start, end);
    events.push({ raw, ...parseFields(buffer.slice(start, m.index)) });
    start = end;
  }
  return { state: { buffer: buffer.slice(start) }, events };
}

/**
 * The first whole event of what is buffered plus `text`, and the text after it, not yet
 * parsed: for a caller that reads events one by one only up to some point (the rest may
 * need no parsing at all). No whole event yet: `event` is null and everything is buffered.
 * Reading a text this way, event after event, finds the same events as feedSse.
 */
export function feedSseOne(state: SseParserState, text: string): { state: SseParserState; event: SseEvent | null; rest: string } {
  const buffer = state.buffer + text;
  TERMINATOR.lastIndex = 0;
  const m = TERMINATOR.exec(buffer);
  if (m === null) return { state: { buffer }, event: null, rest: "" };
  const end = m.index + m[0].length;
  return { state: initialSseState, event: { raw: buffer.slice(0, end), ...parseFields(buffer.slice(0, m.index)) }, rest: buffer.slice(end) };
}

/** End of input: a trailing event without its blank line is still an event. */
export function flushSse(state: SseParserState): { state: SseParserState; events: SseEvent[] } {
  if (state.buffer === "") return { state: initialSseState, events: [] };
  return { state: initialSseState, events: [{ raw: state.buffer, ...parseFields(state.buffer) }] };
}
