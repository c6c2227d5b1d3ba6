// Runs the whole product in the foreground: demo upstream, proxy, worker, dashboard.
// Seeds the demo org/user/key, waits until everything answers, prints where to click.
// Ctrl-C stops everything. Plain JS so it needs nothing but Node.
import { spawn, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";

const env = { ...process.env, NODE_ENV: process.env.NODE_ENV ?? "production" };
const PROXY_PORT = Number(env.PROXY_PORT ?? 4000);
const DASHBOARD_PORT = Number(env.DASHBOARD_PORT ?? 3000);
const MOCK_PORT = 4010;
const MAIL_PORT = 1025;
const colors = { mock: 35, mail: 36, proxy: 32, worker: 33, dashboard: 34 };
const children = [];
let stopping = false;

function portInUse(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" }, () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
  });
}

function run(name, cmd, args, extraEnv = {}, cwd = undefined) {
  const child = spawn(cmd, args, { env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"], cwd });
  const prefix = `\x1b[${colors[name]}m${name.padEnd(9)}\x1b[0m| `;
  const pipe = (stream, out) => {
    let buf = "";
    stream.on("data", (d) => {
      buf += d;
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const l of lines) out.write(prefix + l + "\n");
    });
  };
  pipe(child.stdout, process.stdout);
  pipe(child.stderr, process.stderr);
  child.on("exit", (code, signal) => {
    if (stopping) return;
    console.error(`${prefix}exited (${signal ?? code}); stopping everything`);
    shutdown(1);
  });
  children.push(child);
  return child;
}

function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill("SIGTERM");
  setTimeout(() => process.exit(code), 8000).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.on("exit", r))))).then(() =>
    process.exit(code),
  );
}
process.on("SIGINT", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));

async function waitHttp(url, seconds) {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    try {
      const r = await fetch(url, { redirect: "manual" });
      if (r.status < 500) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

const seedOut = execFileSync("pnpm", ["--silent", "switchyard", "seed", "--json"], { env, encoding: "utf8" });
const seed = JSON.parse(seedOut);

if (await portInUse(MOCK_PORT)) {
  console.log(`port ${MOCK_PORT} is busy: assuming the demo upstream is already running there`);
} else {
  run("mock", process.execPath, ["--import", "tsx", "tooling/mock-upstream/src/main.ts", "--port", String(MOCK_PORT), "--embeddings", "lexical"]);
}
// Budget alerts and invitations need an SMTP server: without one of yours (SMTP_URL),
// a local catcher takes the mail and saves it in var/mail/.
let mailNote = `Mail        sent through ${env.SMTP_URL}`;
if (!env.SMTP_URL) {
  if (await portInUse(MAIL_PORT)) {
    mailNote = `Mail        sent to the SMTP server already on port ${MAIL_PORT}`;
  } else {
    run("mail", process.execPath, ["--import", "tsx", "tooling/mail-catcher/src/main.ts", "--port", String(MAIL_PORT), "--dir", "var/mail"]);
    mailNote = `Mail        budget alerts and invitations are saved in var/mail/ (set SMTP_URL for a real server)`;
  }
  env.SMTP_URL = `smtp://127.0.0.1:${MAIL_PORT}`;
}
env.DASHBOARD_URL ??= `http://localhost:${DASHBOARD_PORT}`;
// With the V8 flags production runs it with (apps/proxy/package.json's "nodeFlags").
const proxyNodeFlags = JSON.parse(readFileSync("apps/proxy/package.json", "utf8")).nodeFlags;
run("proxy", process.execPath, [...proxyNodeFlags, "apps/proxy/dist/main.js"], { PROXY_PORT: String(PROXY_PORT) });
run("worker", process.execPath, ["apps/worker/dist/main.js"]);
// next directly (not through pnpm) so Ctrl-C ends it quietly.
run("dashboard", "node_modules/.bin/next", ["start", "-p", String(DASHBOARD_PORT)], { NEXT_TELEMETRY_DISABLED: "1" }, "apps/dashboard");

const ok =
  (await waitHttp(`http://127.0.0.1:${PROXY_PORT}/readyz`, 60)) &&
  (await waitHttp(`http://127.0.0.1:${DASHBOARD_PORT}/sign-in`, 90));
if (!ok) {
  console.error("Switchyard did not come up; see the logs above.");
  shutdown(1);
} else {
  const key = seed.key?.key ?? seed.key;
  console.log(`
\x1b[1mSwitchyard is running.\x1b[0m

  Dashboard   http://localhost:${DASHBOARD_PORT}
              sign in as ${seed.user?.email ?? "demo@switchyard.local"} / ${seed.user?.password ?? "switchyard-demo"}
  Proxy       http://localhost:${PROXY_PORT}/v1   (OpenAI-compatible)
  Demo key    ${key}
  ${mailNote}

Try it (the demo model replays a recorded OpenAI answer; set OPENAI_API_KEY and use gpt-4o-mini for the real thing):

  curl http://localhost:${PROXY_PORT}/v1/chat/completions \\
    -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\
    -d '{"model":"demo-gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}'

Routing and caching: send the same request with "model":"default-chat" (a fallback route with the
exact and semantic cache) twice and add -i: the second answer says x-switchyard-cache: hit and costs $0.
Routes, Models and Health are on the dashboard.

Ctrl-C stops everything.
`);
}
