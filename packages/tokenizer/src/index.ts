/**
 * Token counting before a call: exact for OpenAI models (gpt-tokenizer, loaded lazily),
 * a documented estimate for other vendors. Pure: no I/O, no env.
 */
export { tokenizerProfile, normalizeModelName, type EncodingName, type ModelFamily, type TokenizerProfile } from "./families";
export { loadEncoding, loadedEncoding, preloadEncodings, setRankLoader, type RankLoader, type TextEncoder } from "./encodings";
export { loadRankData, packRanks, rankListPath, type RankList } from "./ranks";
export type { RankData } from "./bpe";
export { countChatInputTokens, countChatInputTokensWith, estimateChatInputTokens, type ChatTokenCount, type CountAccuracy } from "./chat";
export { countTextTokens, countTextTokensWith, countEmbeddingInputTokens, type EmbeddingInput, type TextTokenCount } from "./text";
export { estimateImageTokens, imageSizeFromDataUrl, imageSizeFromBytes, ASSUMED_IMAGE_SIZE, type ImageDetail, type ImageSize } from "./images";
