export const MISTRAL_DEFAULT_BASE_URL = "https://api.mistral.ai/v1";
