import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError, toOpenAiErrorBody, type ErrorCode } from "@switchyard/contracts";
import { inboundAnthropic } from "@switchyard/providers";

/** Sends a JSON body with an exact content-length. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  // Not `{ ...headers, … }`: on Node 20's V8 a spread object that is then extended gets a new
  // hidden class every time, and node's header code then reads it through cache misses.
  const all: Record<string, string | number> = Object.assign({}, headers);
  all["content-type"] = "application/json";
  all["content-length"] = Buffer.byteLength(text);
  res.writeHead(status, all);
  res.end(text);
}

/** An upstream error status, carrying the provider's own error `type`/`code` for the client. */
export class ProviderHttpError extends AppError {
  constructor(
    code: ErrorCode,
    message: string,
    opts: ConstructorParameters<typeof AppError>[2],
    readonly override: { type?: string | null; code?: string | null },
  ) {
    super(code, message, opts);
  }
}

/**
 * An error in OpenAI's shape. `override` lets an upstream error keep the provider's own
 * `type`/`code` (clients such as the OpenAI SDK branch on `code`).
 */
export function sendError(res: ServerResponse, err: AppError, override: { type?: string | null; code?: string | null } = err instanceof ProviderHttpError ? err.override : {}): void {
  const body = toOpenAiErrorBody(err);
  if (override.type) body.error.type = override.type as typeof body.error.type;
  if (override.code) body.error.code = override.code as typeof body.error.code;
  sendJson(res, err.status, body, err.headers);
}

/** An error in Anthropic's shape (/v1/messages): `{"type":"error","error":{"type","message"}}`, type chosen by status. */
export function sendAnthropicError(res: ServerResponse, err: AppError): void {
  sendJson(res, err.status, inboundAnthropic.anthropicErrorBody(err.status, err.message), err.headers);
}

/**
 * Reads a request body up to `maxBytes`. Over the limit (by content-length or while
 * streaming in) it stops reading at once and throws a 413; the caller closes the
 * connection after answering so the rest is never read.
 */
export function readBodyLimited(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new AppError("request_too_large", `Request body exceeds the limit of ${maxBytes} bytes.`);
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    // The client went away mid-body without an 'error' (it happens): do not wait forever.
    const onClose = () => onError(new Error("client closed the connection while sending the body"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/** zod issue path → OpenAI's `param` style: messages[0].role */
export function formatParam(path: readonly PropertyKey[]): string | null {
  if (path.length === 0) return null;
  return path.reduce<string>((acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), "");
}
