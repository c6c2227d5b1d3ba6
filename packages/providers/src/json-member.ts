/**
 * Reads one top-level member of a JSON object straight from its bytes, without decoding
 * and parsing the rest: the usage of a reply that is forwarded unchanged is all the
 * gateway needs of it, and parsing a whole completion (often a two-byte string, as soon
 * as the text holds one em dash) cost more than anything else the proxy did with it.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Strings longer than this are skipped with a native search for the closing quote. */
const SHORT_STRING = 48;

/** JSON whitespace, as a byte or a UTF-16 code unit. */
export const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Whether the quote at `q` is escaped: an odd number of backslashes (after `floor`) precede it. */
function escaped(b: Buffer, q: number, floor: number): boolean {
  let k = q - 1;
  while (k > floor && b[k] === BACKSLASH) k--;
  return (q - 1 - k) % 2 !== 0;
}

/** Index of the quote that closes the string opened at `open`; -1 when it never closes. */
function stringEnd(b: Buffer, open: number): number {
  const shortEnd = Math.min(b.length, open + SHORT_STRING);
  let i = open + 1;
  for (; i < shortEnd; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i;
    if (c === BACKSLASH) i++;
  }
  for (;;) {
    const q = b.indexOf(QUOTE, i);
    if (q === -1) return -1;
    if (!escaped(b, q, open)) return q;
    i = q + 1;
  }
}

function equalsAscii(b: Buffer, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (b[start + i] !== name.charCodeAt(i)) return false;
  return true;
}

/**
 * The JSON text of member `name` (ASCII, no escapes) of the object `body` holds, as the
 * last of its kind wins in JSON.parse; `undefined` when the object has no such member.
 * `null` when `body` is not read as one JSON object: something other than an object,
 * brackets that do not match, a string that does not end, or text after the object.
 * The scan checks the structure, not every token, and for a member found near the end
 * only the structure after it: a caller that must reject any malformed JSON parses the
 * whole text instead. A key written with escapes (`"usag\u0065"`) is not recognised.
 */
export function topLevelMember(body: Buffer, name: string): string | undefined | null {
  // The object's bounds: its opening and closing braces, blanks around them left out.
  let start = 0;
  let end = body.length;
  while (start < end && isSpace(body[start]!)) start++;
  while (end > start && isSpace(body[end - 1]!)) end--;
  if (body[start] !== OPEN_OBJECT || body[end - 1] !== CLOSE_OBJECT) return null;
  const fromEnd = lastMember(body, start, end, name);
  return fromEnd !== null ? fromEnd : scanMembers(body, start, end, name);
}

/**
 * The quick way, for replies that carry the member near their end (OpenAI's usage): the
 * last `"name"` in the bytes (a native search), checked to be a top-level key by reading
 * only what follows it, where exactly one bracket, the object's final `}`, may close.
 * What precedes the key is not checked. null when it cannot tell (or finds no `"name"`).
 */
function lastMember(body: Buffer, start: number, end: number, name: string): string | null {
  const at = body.lastIndexOf(`"${name}"`, end, "latin1");
  // None at all: the thorough scan answers (and checks the structure on the way).
  if (at === -1) return null;
  // An escaped quote: the name is inside some string.
  if (escaped(body, at, start)) return null;
  let i = at + name.length + 2;
  while (i < end && isSpace(body[i]!)) i++;
  if (body[i] !== COLON) return null;
  const valueStart = i + 1;
  let depth = 0;
  let valueEnd = -1;
  for (i = valueStart; i < end; i++) {
    const c = body[i]!;
    if (c === QUOTE) {
      i = stringEnd(body, i);
      if (i === -1) return null;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth === 0) {
        // Only the top object's own closing brace may close below the key's level.
        if (i !== end - 1) return null;
        return body.toString("utf8", valueStart, valueEnd === -1 ? i : valueEnd);
      }
      depth--;
    } else if (c === COMMA && depth === 0 && valueEnd === -1) valueEnd = i;
  }
  return null;
}

/** The thorough way: every top-level member in order, the structure checked throughout. */
function scanMembers(body: Buffer, start: number, end: number, name: string): string | undefined | null {
  // Open containers below the top object: true for an object, false for an array.
  const stack: boolean[] = [];
  let expectKey = true;
  let matched = false;
  let valueStart = -1;
  let found: string | undefined;
  for (let i = start + 1; i < end; i++) {
    const c = body[i]!;
    if (c === QUOTE) {
      const close = stringEnd(body, i);
      if (close === -1) return null;
      if (stack.length === 0 && expectKey) {
        matched = equalsAscii(body, i + 1, close, name);
        valueStart = -1;
        expectKey = false;
      }
      i = close;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      stack.push(c === OPEN_OBJECT);
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (stack.length === 0) {
        // Only the last byte may close the top object: nothing but blanks after it.
        if (i !== end - 1) return null;
        if (matched) {
          if (valueStart < 0) return null;
          found = body.toString("utf8", valueStart, i);
        }
        return found;
      }
      if (stack.pop() !== (c === CLOSE_OBJECT)) return null;
    } else if (stack.length === 0) {
      if (c === COLON) {
        if (expectKey) return null;
        valueStart = i + 1;
      } else if (c === COMMA) {
        if (matched) {
          if (valueStart < 0) return null;
          found = body.toString("utf8", valueStart, i);
        }
        matched = false;
        expectKey = true;
      }
    }
  }
  return null;
}
