/**
 * Streams in and out of the cache: a streamed answer (the OpenAI SSE the adapters
 * produce) is assembled into one chat completion to store, and a stored completion is
 * replayed as an OpenAI chunk stream.
 */
import type { ChatCompletion, ChatCompletionChunk, ChatToolCall } from "@switchyard/contracts";
import { feedSse, flushSse, initialSseState, type SseEvent } from "@switchyard/providers";

type Choice = ChatCompletion["choices"][number];
type FinishReason = Choice["finish_reason"];
type Usage = NonNullable<ChatCompletion["usage"]>;

interface ChoiceDraft {
  content: string | null;
  refusal: string | null;
  reasoning: string;
  tools: Map<number, ChatToolCall>;
  finish: FinishReason;
}

interface ChunkFrame {
  id?: unknown;
  created?: unknown;
  model?: unknown;
  system_fingerprint?: unknown;
  error?: unknown;
  choices?: {
    index?: unknown;
    delta?: {
      content?: unknown;
      refusal?: unknown;
      reasoning_content?: unknown;
      tool_calls?: { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } }[];
    };
    finish_reason?: unknown;
    logprobs?: unknown;
  }[];
  usage?: unknown;
}

const FINISH_REASONS = new Set(["stop", "length", "tool_calls", "content_filter", "function_call"]);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);

function usageFrom(raw: unknown): Usage | null {
  if (typeof raw !== "object" || raw === null) return null;
  const u = raw as Record<string, unknown>;
  const prompt = num(u.prompt_tokens);
  const completion = num(u.completion_tokens) ?? 0;
  if (prompt === null) return null;
  const usage: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: num(u.total_tokens) ?? prompt + completion };
  const pd = u.prompt_tokens_details as Record<string, unknown> | null | undefined;
  const cached = num(pd?.cached_tokens);
  const written = num(pd?.cache_write_tokens);
  if (cached !== null || written !== null) {
    usage.prompt_tokens_details = {
      ...(cached !== null ? { cached_tokens: cached } : {}),
      ...(written !== null ? { cache_write_tokens: written } : {}),
    };
  }
  const reasoning = num((u.completion_tokens_details as Record<string, unknown> | null | undefined)?.reasoning_tokens);
  if (reasoning !== null) usage.completion_tokens_details = { reasoning_tokens: reasoning };
  return usage;
}

function eventsOf(sse: readonly string[]): SseEvent[] {
  const fed = feedSse(initialSseState, sse.join(""));
  return [...fed.events, ...flushSse(fed.state).events];
}

/**
 * Assembles a streamed answer into the completion a non-streaming call would have
 * returned: content, refusal, reasoning and tool calls (arguments merged by index), the
 * finish reason and usage (present only if the stream carried its usage chunk). Null
 * when the stream is not a whole answer (no `[DONE]`, a choice without finish reason, an
 * error frame, an unparseable chunk) or carries logprobs (not replayable), so a broken
 * stream is never cached.
 */
export function completionFromOpenAiSse(sse: readonly string[]): ChatCompletion | null {
  let id: string | null = null;
  let created: number | null = null;
  let model: string | null = null;
  let fingerprint: string | null = null;
  let usage: Usage | null = null;
  let done = false;
  const drafts = new Map<number, ChoiceDraft>();

  for (const ev of eventsOf(sse)) {
    if (ev.data === null) continue; // comments, keep-alives
    if (done) return null; // anything after [DONE] is not OpenAI's stream
    if (ev.event === "error") return null;
    if (ev.data.trim() === "[DONE]") {
      done = true;
      continue;
    }
    let chunk: ChunkFrame;
    try {
      chunk = JSON.parse(ev.data) as ChunkFrame;
    } catch {
      return null;
    }
    if (typeof chunk !== "object" || chunk === null || chunk.error != null) return null;
    if (id === null && typeof chunk.id === "string") id = chunk.id;
    if (created === null) created = num(chunk.created);
    if (model === null && typeof chunk.model === "string" && chunk.model !== "") model = chunk.model;
    if (typeof chunk.system_fingerprint === "string") fingerprint = chunk.system_fingerprint;
    usage = usageFrom(chunk.usage) ?? usage;
    for (const c of chunk.choices ?? []) {
      if (c.logprobs != null) return null;
      const index = num(c.index) ?? 0;
      let draft = drafts.get(index);
      if (!draft) {
        draft = { content: null, refusal: null, reasoning: "", tools: new Map(), finish: null };
        drafts.set(index, draft);
      }
      const d = c.delta ?? {};
      if (typeof d.content === "string") draft.content = (draft.content ?? "") + d.content;
      if (typeof d.refusal === "string") draft.refusal = (draft.refusal ?? "") + d.refusal;
      if (typeof d.reasoning_content === "string") draft.reasoning += d.reasoning_content;
      for (const t of d.tool_calls ?? []) {
        const ti = num(t.index) ?? 0;
        let call = draft.tools.get(ti);
        if (!call) {
          call = { id: "", type: "function", function: { name: "", arguments: "" } };
          draft.tools.set(ti, call);
        }
        // Id and name come whole in the call's first delta; some servers repeat them later.
        if (call.id === "" && typeof t.id === "string") call.id = t.id;
        if (call.function.name === "" && typeof t.function?.name === "string") call.function.name = t.function.name;
        if (typeof t.function?.arguments === "string") call.function.arguments += t.function.arguments;
      }
      if (typeof c.finish_reason === "string") {
        if (!FINISH_REASONS.has(c.finish_reason)) return null;
        draft.finish = c.finish_reason as FinishReason;
      }
    }
  }
  if (!done || id === null || drafts.size === 0) return null;

  const choices: Choice[] = [];
  for (const [index, draft] of [...drafts.entries()].sort(([a], [b]) => a - b)) {
    if (draft.finish === null) return null;
    const message: Choice["message"] = { role: "assistant", content: draft.content, refusal: draft.refusal };
    if (draft.tools.size > 0) message.tool_calls = [...draft.tools.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
    if (draft.reasoning !== "") message.reasoning_content = draft.reasoning;
    choices.push({ index, message, finish_reason: draft.finish, logprobs: null });
  }
  return {
    id,
    object: "chat.completion",
    created: created ?? 0,
    model: model ?? "",
    choices,
    ...(usage ? { usage } : {}),
    ...(fingerprint !== null ? { system_fingerprint: fingerprint } : {}),
  };
}

/** Splits text into pieces of at most `size` characters, never inside a surrogate pair. */
function pieces(text: string, size: number): string[] {
  const chars = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(""));
  return out;
}

export interface ReplayOptions {
  /** Append the usage-only chunk (`choices: []`), as OpenAI does for `stream_options.include_usage`. */
  includeUsage: boolean;
  /** The id every chunk carries (default: the stored completion's). */
  id?: string;
  /** Characters of content (or tool arguments) per chunk; default 32. */
  chunkChars?: number;
}

/**
 * A stored completion as the OpenAI chunk stream a provider would have sent: per choice a
 * role chunk, the reasoning, content and refusal in pieces, each tool call (id and name,
 * then its arguments in pieces), a finish chunk; then the usage chunk if asked and
 * `data: [DONE]`.
 */
export function openAiSseFromCompletion(completion: ChatCompletion, opts: ReplayOptions): string {
  const size = Math.max(1, Math.floor(opts.chunkChars ?? 32));
  const base = {
    id: opts.id ?? completion.id,
    object: "chat.completion.chunk" as const,
    created: completion.created,
    model: completion.model,
    ...(completion.system_fingerprint != null ? { system_fingerprint: completion.system_fingerprint } : {}),
  };
  let out = "";
  const emit = (chunk: ChatCompletionChunk) => {
    out += `data: ${JSON.stringify(chunk)}\n\n`;
  };
  type Delta = ChatCompletionChunk["choices"][number]["delta"];
  const delta = (index: number, d: Delta, finish: FinishReason = null) => emit({ ...base, choices: [{ index, delta: d, finish_reason: finish }] });

  for (const choice of [...completion.choices].sort((a, b) => a.index - b.index)) {
    const m = choice.message;
    const { index } = choice;
    // OpenAI opens with content "" for text and null when the answer is tool calls or a refusal.
    delta(index, { role: "assistant", content: m.content === null ? null : "", refusal: null });
    for (const p of pieces(m.reasoning_content ?? "", size)) delta(index, { reasoning_content: p });
    for (const p of pieces(m.content ?? "", size)) delta(index, { content: p });
    for (const p of pieces(m.refusal ?? "", size)) delta(index, { refusal: p });
    (m.tool_calls ?? []).forEach((call, ti) => {
      delta(index, { tool_calls: [{ index: ti, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] });
      for (const p of pieces(call.function.arguments, size)) delta(index, { tool_calls: [{ index: ti, function: { arguments: p } }] });
    });
    // A stored answer always ended (only complete answers are cached); "stop" is the fallback for odd providers.
    delta(index, {}, choice.finish_reason ?? "stop");
  }
  if (opts.includeUsage && completion.usage) emit({ ...base, choices: [], usage: completion.usage });
  return `${out}data: [DONE]\n\n`;
}
