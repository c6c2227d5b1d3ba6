import type { ModelPricing, TokenUsage } from "@switchyard/contracts";

const SCALE_DIGITS = 12;
const SCALE = 10n ** BigInt(SCALE_DIGITS);
/** USD × 1e18 → nano-USD. A constant: a BigInt `**` is a runtime call (~2k instructions) on every request. */
const NANO = 1_000_000_000n;

/** "0.15" (USD per million tokens) → 150000000000n (USD per MTok × 10^12). Exact; no float. */
export function parseDecimalPrice(price: string): bigint {
  // Every request prices its usage with the same few strings: parse each once.
  const known = parsedPrices.get(price);
  if (known !== undefined) return known;
  const m = /^(\d+)(?:\.(\d{1,12}))?$/.exec(price);
  if (!m) throw new Error(`invalid decimal price "${price}"`);
  const whole = BigInt(m[1] ?? "0");
  const frac = (m[2] ?? "").padEnd(SCALE_DIGITS, "0");
  const value = whole * SCALE + BigInt(frac);
  if (parsedPrices.size >= 10_000) parsedPrices.clear(); // bounded: prices are few, but strings come from config
  parsedPrices.set(price, value);
  return value;
}
const parsedPrices = new Map<string, bigint>();

/** What a request adds to its token usage: images billed by the piece, and the Batch API. */
export interface CostOptions {
  /** Images billed at `perImage` (ignored when the model has no per-image price). */
  images?: number;
  /** A Batch API request: `batchDiscountPercent` comes off every line. */
  batch?: boolean;
}

/**
 * Cost of one request in integer nano-USD, rounded half-up once at the end.
 * cachedInputTokens and cacheWriteTokens are parts of inputTokens; reasoningTokens
 * are part of outputTokens and billed at reasoningPerMTok only when that is set.
 */
export function computeCostNanoUsd(usage: TokenUsage, pricing: ModelPricing, options: CostOptions = {}): bigint {
  const input = parseDecimalPrice(pricing.inputPerMTok);
  const output = parseDecimalPrice(pricing.outputPerMTok);
  const cachedRate = pricing.cachedInputPerMTok !== undefined ? parseDecimalPrice(pricing.cachedInputPerMTok) : input;
  const writeRate = pricing.cacheWritePerMTok !== undefined ? parseDecimalPrice(pricing.cacheWritePerMTok) : input;
  const cached = BigInt(usage.cachedInputTokens);
  const written = BigInt(usage.cacheWriteTokens);
  const plainInput = BigInt(Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens));

  let outputPart: bigint;
  if (pricing.reasoningPerMTok !== undefined) {
    const reasoning = BigInt(Math.min(usage.reasoningTokens, usage.outputTokens));
    outputPart = (BigInt(usage.outputTokens) - reasoning) * output + reasoning * parseDecimalPrice(pricing.reasoningPerMTok);
  } else {
    outputPart = BigInt(usage.outputTokens) * output;
  }
  // Σ tokens × (USD/MTok × 1e12) is USD × 1e18; nano-USD = that / 1e9.
  let numerator = plainInput * input + cached * cachedRate + written * writeRate + outputPart;
  if (pricing.perImage !== undefined && options.images) {
    // USD/image × 1e12 × 1e6 is USD × 1e18 per image, the unit of the token lines.
    numerator += BigInt(options.images) * parseDecimalPrice(pricing.perImage) * 1_000_000n;
  }
  let divisor = NANO;
  if (options.batch && pricing.batchDiscountPercent !== undefined) {
    const hundred = 100n * SCALE;
    const discount = parseDecimalPrice(pricing.batchDiscountPercent);
    if (discount > hundred) throw new Error(`batch discount "${pricing.batchDiscountPercent}" is over 100%`);
    numerator *= hundred - discount;
    divisor *= hundred;
  }
  return (numerator + divisor / 2n) / divisor;
}

/** Integer nano-USD → a decimal USD string with 9 places ("0.000123450"). */
export function formatNanoUsd(nano: bigint): string {
  const neg = nano < 0n;
  const abs = neg ? -nano : nano;
  const whole = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, "0");
  return `${neg ? "-" : ""}${whole}.${frac}`;
}
