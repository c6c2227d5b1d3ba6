import { normalizeModelName, tokenizerProfile } from "./families";

/**
 * Image input tokens, from each vendor's published sizing rules. Counting needs the
 * image's pixel size: we read it from the header of a base64 `data:` URL (PNG, GIF,
 * JPEG, WebP); for a remote URL (which we never fetch) we assume a 1024×1024 image,
 * which makes the estimate wrong by the ratio of tile counts for other sizes.
 */

export interface ImageSize {
  width: number;
  height: number;
}

export type ImageDetail = "low" | "high" | "auto";

/** What we assume when the size cannot be known without fetching the image. */
export const ASSUMED_IMAGE_SIZE: ImageSize = { width: 1024, height: 1024 };

/** OpenAI tile pricing: scale to fit 2048², shortest side to 768, then count 512px tiles. */
function openAiTiles({ width, height }: ImageSize): number {
  let w = width;
  let h = height;
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const shortest = Math.min(w, h);
  if (shortest > 768) {
    w *= 768 / shortest;
    h *= 768 / shortest;
  }
  return Math.ceil(w / 512) * Math.ceil(h / 512);
}

/** OpenAI patch pricing (gpt-4.1-mini/nano, o4-mini, gpt-5-mini/nano): 32px patches, at most 1536, times a per-model multiplier. */
function openAiPatches({ width, height }: ImageSize): number {
  let patches = Math.ceil(width / 32) * Math.ceil(height / 32);
  if (patches > 1536) {
    const shrink = Math.sqrt((1536 * 32 * 32) / (width * height));
    const w = width * shrink;
    const h = height * shrink;
    // Scale down further so a whole number of patches fits on the width, as OpenAI describes.
    const wFit = (Math.floor(w / 32) / (w / 32)) * w;
    const hFit = wFit * (h / w);
    patches = Math.min(1536, Math.ceil(wFit / 32) * Math.ceil(hFit / 32));
  }
  return patches;
}

const PATCH_MULTIPLIER: [RegExp, number][] = [
  [/^gpt-5(\.\d+)?-mini/, 1.62],
  [/^gpt-5(\.\d+)?-nano/, 2.46],
  [/^gpt-4\.1-mini/, 1.62],
  [/^gpt-4\.1-nano/, 2.46],
  [/^o4-mini/, 1.72],
];

/** Tile pricing per model line: [base tokens, tokens per 512px tile]. */
function openAiTileRates(m: string): [number, number] {
  if (m.startsWith("gpt-4o-mini")) return [2833, 5667];
  if (m.startsWith("gpt-5") || m.startsWith("computer-use")) return [70, 140];
  if (m.startsWith("o1") || m.startsWith("o3")) return [75, 150];
  return [85, 170];
}

/** Tokens one image costs on `model`. */
export function estimateImageTokens(model: string, size: ImageSize | null, detail: ImageDetail = "auto"): number {
  const s = size ?? ASSUMED_IMAGE_SIZE;
  const profile = tokenizerProfile(model);
  const m = normalizeModelName(model);
  switch (profile.family) {
    case "openai-o200k":
    case "openai-cl100k": {
      const patch = PATCH_MULTIPLIER.find(([re]) => re.test(m));
      if (patch) return Math.ceil(openAiPatches(detail === "low" ? { width: 512, height: 512 } : s) * patch[1]);
      const [base, perTile] = openAiTileRates(m);
      return detail === "low" ? base : base + perTile * openAiTiles(s);
    }
    case "anthropic": {
      // Anthropic: width × height / 750, images are resized to at most ~1.15 megapixels first.
      const pixels = Math.min(s.width * s.height, 1_150_000);
      return Math.ceil(pixels / 750);
    }
    case "gemini": {
      // Gemini: 258 tokens when both sides ≤ 384px, else 258 per 768×768 crop.
      if (s.width <= 384 && s.height <= 384) return 258;
      return 258 * Math.ceil(s.width / 768) * Math.ceil(s.height / 768);
    }
    default:
      // Other vision models (Llama 4, Pixtral, …) land near OpenAI's tile cost.
      return 85 + 170 * openAiTiles(s);
  }
}

const DATA_URL = /^data:image\/[a-z0-9.+-]+;base64,/i;

/** The pixel size from the header of a base64 data URL; null for remote URLs or unknown formats. */
export function imageSizeFromDataUrl(url: string): ImageSize | null {
  const m = DATA_URL.exec(url);
  if (!m) return null;
  // The headers we read sit in the first few KB (JPEG's SOF can follow EXIF, so take 64 KB).
  const b64 = url.slice(m[0].length, m[0].length + 87_384);
  const bytes = Buffer.from(b64.slice(0, b64.length - (b64.length % 4)), "base64");
  return imageSizeFromBytes(bytes);
}

export function imageSizeFromBytes(b: Uint8Array): ImageSize | null {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // PNG: signature, then IHDR width/height as big-endian u32 at 16 and 20.
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  // GIF: "GIF8", logical screen size as little-endian u16 at 6 and 8.
  if (b.length >= 10 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) {
    return { width: view.getUint16(6, true), height: view.getUint16(8, true) };
  }
  // WebP: RIFF….WEBP, then VP8 / VP8L / VP8X chunk.
  if (b.length >= 30 && b[0] === 0x52 && b[1] === 0x49 && b[8] === 0x57 && b[9] === 0x45) {
    const chunk = String.fromCharCode(b[12] ?? 0, b[13] ?? 0, b[14] ?? 0, b[15] ?? 0);
    if (chunk === "VP8X") return { width: 1 + (view.getUint32(24, true) & 0xffffff), height: 1 + (view.getUint32(27, true) & 0xffffff) };
    if (chunk === "VP8 ") return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
    if (chunk === "VP8L") {
      const bits = view.getUint32(21, true);
      return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
    }
    return null;
  }
  // JPEG: walk the segments to the first SOFn marker.
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1] ?? 0;
      const len = view.getUint16(i + 2);
      const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isSof) return { width: view.getUint16(i + 7), height: view.getUint16(i + 5) };
      i += 2 + len;
    }
  }
  return null;
}
