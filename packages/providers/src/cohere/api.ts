export const COHERE_DEFAULT_BASE_URL = "https://api.cohere.com/v2";
