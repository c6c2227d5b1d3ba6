import { headerValue, type RecordedRequest } from "./core";

/** A fault spec such as "status:429:retry-after=2" or "slow-first-token:500"; index.ts's MockFault lists them. */
export type FaultSpec = string;

export interface ParsedFault {
  /** "status", "timeout", "reset", "reset-mid-stream", … ("" for none). */
  name: string;
  /** The part after the first colon ("429", "500"), "" when none. */
  arg: string;
  /** `key=value` parts after the argument, e.g. { "retry-after": "2" }. */
  options: Record<string, string>;
}

export function parseFault(fault: FaultSpec | null): ParsedFault {
  const [name = "", arg = "", ...rest] = (fault ?? "").split(":");
  const options: Record<string, string> = {};
  for (const part of rest) {
    const eq = part.indexOf("=");
    if (eq > 0) options[part.slice(0, eq)] = part.slice(eq + 1);
    else if (part !== "") options[part] = "";
  }
  return { name, arg, options };
}

/**
 * Headers for a `status:<code>` fault: the provider's defaults (Anthropic's 429 carries
 * retry-after), replaced by the fault's own `retry-after=<s>` / `retry-after-ms=<ms>`
 * when given; `retry-after=none` sends neither.
 */
export function statusFaultHeaders(options: Record<string, string>, defaults: Record<string, string>): Record<string, string> {
  const after = options["retry-after"];
  const afterMs = options["retry-after-ms"];
  if (after === undefined && afterMs === undefined) return defaults;
  const { "retry-after": _s, "retry-after-ms": _ms, ...rest } = defaults;
  const headers: Record<string, string> = rest;
  if (after !== undefined && after !== "none") headers["retry-after"] = after;
  // OpenAI's own millisecond header, which its SDKs read before retry-after.
  if (afterMs !== undefined && afterMs !== "none") headers["retry-after-ms"] = afterMs;
  return headers;
}

/** The model a request asks for: the body's `model`, else Gemini's /models/<m>: or Azure's /deployments/<m>/ path. */
export function requestedModel(rec: RecordedRequest): string | undefined {
  const body = rec.body;
  if (typeof body === "object" && body !== null && "model" in body && typeof body.model === "string") return body.model;
  return /\/models\/([^/:]+):/.exec(rec.path)?.[1] ?? /\/deployments\/([^/]+)\//.exec(rec.path)?.[1];
}

/**
 * Which fault each request gets, in order: the `x-mock-fault` header, the next queued
 * fault (one per request; a queued null answers normally), the fault set for the
 * request's model, the standing fault.
 */
export class FaultSchedule {
  private queue: (FaultSpec | null)[] = [];
  private readonly byModel = new Map<string, FaultSpec>();
  private standing: FaultSpec | null = null;
  /** Requests answered with an injected fault so far. */
  served = 0;

  setStanding(fault: FaultSpec | null): void {
    this.standing = fault;
  }

  setFor(model: string, fault: FaultSpec | null): void {
    if (fault === null) this.byModel.delete(model);
    else this.byModel.set(model, fault);
  }

  enqueue(faults: readonly (FaultSpec | null)[]): void {
    this.queue.push(...faults);
  }

  get pending(): number {
    return this.queue.length;
  }

  reset(): void {
    this.queue = [];
    this.byModel.clear();
    this.standing = null;
  }

  /** The fault for this request (consuming a queued one), null for a normal answer. */
  next(rec: RecordedRequest): FaultSpec | null {
    const header = headerValue(rec.headers, "x-mock-fault");
    let fault: FaultSpec | null;
    if (header !== undefined) fault = header;
    else if (this.queue.length > 0) fault = this.queue.shift() ?? null;
    else {
      const model = requestedModel(rec);
      fault = (model !== undefined ? this.byModel.get(model) : undefined) ?? this.standing;
    }
    if (fault === "") fault = null;
    if (fault !== null) this.served++;
    return fault;
  }
}
