// The quick start's mailbox: budget alerts and invitations land here instead of
// failing against a missing SMTP server. `--port 1025 --dir var/mail`.
import { parseArgs } from "node:util";
import { startMailCatcher } from "./index";

const { values } = parseArgs({ options: { port: { type: "string", default: "1025" }, dir: { type: "string", default: "var/mail" } } });
const catcher = await startMailCatcher({
  port: Number(values.port),
  saveDir: values.dir,
  onMail: (m) => console.log(`mail to ${m.to ? [m.to].flat().map((a) => a.text).join(", ") : "?"}: ${m.subject ?? "(no subject)"} (saved in ${values.dir})`),
});
console.log(`mail catcher listening on ${catcher.url}; messages are saved in ${values.dir}`);
const stop = () => void catcher.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
