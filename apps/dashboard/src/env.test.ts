import { afterEach, describe, expect, it, vi } from "vitest";
import { trustedOriginsFor } from "./server/auth";

const KEY_A = "ab".repeat(32);
const KEY_B = "cd".repeat(32);

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

async function freshEnv(vars: Record<string, string | undefined>) {
  for (const [name, value] of Object.entries(vars)) vi.stubEnv(name, value);
  vi.resetModules();
  const mod = await import("./env");
  return mod.getEnv();
}

describe("getEnv", () => {
  it("derives a stable auth secret from the encryption key when BETTER_AUTH_SECRET is unset", async () => {
    const a1 = await freshEnv({
      SWITCHYARD_ENCRYPTION_KEY: KEY_A,
      BETTER_AUTH_SECRET: "",
      DASHBOARD_PORT: "4321",
      BETTER_AUTH_URL: "",
    });
    const a2 = await freshEnv({ SWITCHYARD_ENCRYPTION_KEY: KEY_A, BETTER_AUTH_SECRET: "" });
    const b = await freshEnv({ SWITCHYARD_ENCRYPTION_KEY: KEY_B, BETTER_AUTH_SECRET: "" });
    expect(a1.authSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(a1.authSecret).toBe(a2.authSecret);
    expect(b.authSecret).not.toBe(a1.authSecret);
    expect(a1.authSecret).not.toContain(KEY_A);
    expect(a1.authUrl).toBe("http://localhost:4321");
  });

  it("prefers BETTER_AUTH_SECRET and BETTER_AUTH_URL when set", async () => {
    const env = await freshEnv({
      SWITCHYARD_ENCRYPTION_KEY: KEY_A,
      BETTER_AUTH_SECRET: "s".repeat(40),
      BETTER_AUTH_URL: "https://dash.example.com",
    });
    expect(env.authSecret).toBe("s".repeat(40));
    expect(env.authUrl).toBe("https://dash.example.com");
  });

  it("builds email links from DASHBOARD_URL, else BETTER_AUTH_URL, else localhost", async () => {
    const base = { SWITCHYARD_ENCRYPTION_KEY: KEY_A, DASHBOARD_PORT: "4321", SMTP_URL: "", MAIL_FROM: "" };
    const local = await freshEnv({ ...base, BETTER_AUTH_URL: "", DASHBOARD_URL: "" });
    expect(local.publicUrl).toBe("http://localhost:4321");
    expect(local.SMTP_URL).toBe("smtp://127.0.0.1:1025");
    const auth = await freshEnv({ ...base, BETTER_AUTH_URL: "https://dash.example.com", DASHBOARD_URL: "" });
    expect(auth.publicUrl).toBe("https://dash.example.com");
    const pub = await freshEnv({ ...base, BETTER_AUTH_URL: "https://dash.example.com", DASHBOARD_URL: "https://llm.example.com/" });
    expect(pub.publicUrl).toBe("https://llm.example.com");
    await expect(freshEnv({ ...base, DASHBOARD_URL: "not a url" })).rejects.toThrow(/DASHBOARD_URL/);
  });

  it("names the variable when the encryption key is missing", async () => {
    await expect(freshEnv({ SWITCHYARD_ENCRYPTION_KEY: "" })).rejects.toThrow(
      /SWITCHYARD_ENCRYPTION_KEY/,
    );
  });
});

describe("trustedOriginsFor", () => {
  it("trusts the configured origin and the loopback names of the port", () => {
    expect(trustedOriginsFor({ baseUrl: "https://dash.example.com/", port: 3000 })).toEqual([
      "https://dash.example.com",
      "http://localhost:3000",
      "http://127.0.0.1:3000",
      "http://[::1]:3000",
    ]);
  });
});
