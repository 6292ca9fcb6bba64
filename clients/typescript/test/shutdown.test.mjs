// The server-side shutdown hook: a Node process that ends (its event loop empties) or gets SIGTERM delivers
// what it queued first, although no batch was due yet.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { test } from "node:test";

const CHILD = `
  import { Sender, events, flushOnShutdown } from "./dist/index.js";
  const sender = new Sender({ endpoint: process.env.ENDPOINT, key: "k", flushIntervalMs: 600000 });
  flushOnShutdown(sender, process.env.SIGNALS ? [process.env.SIGNALS] : []);
  for (let i = 0; i < 7; i++) sender.send(events.appAction({ user_id: "u-1", action: "a" }, { event_id: "s-" + i }));
  if (process.env.SIGNALS) { setInterval(() => {}, 1000); console.log("ready"); }
`;

async function receiver() {
  const ids = [];
  const server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk) => (text += chunk));
    request.on("end", () => {
      const batch = JSON.parse(text).events;
      ids.push(...batch.map((e) => e.event_id));
      response.writeHead(202, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ accepted: batch.length, duplicates: 0, rejected: [] }));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { ids, server, endpoint: `http://127.0.0.1:${server.address().port}/v1/events` };
}

function child(endpoint, signals) {
  const env = { ...process.env, ENDPOINT: endpoint, SIGNALS: signals };
  return spawn(process.execPath, ["--input-type=module", "-e", CHILD], { env, stdio: ["ignore", "pipe", "inherit"] });
}

const expected = Array.from({ length: 7 }, (_, i) => `s-${i}`);

test("a process whose event loop empties sends its queued events before it exits", async () => {
  const { ids, server, endpoint } = await receiver();
  const proc = child(endpoint, "");
  const code = await new Promise((resolve) => proc.on("exit", resolve));
  server.close();
  assert.equal(code, 0);
  assert.deepEqual(ids, expected);
});

test("with the opt-in SIGTERM hook, a terminated process sends its queued events, then ends by the signal", async () => {
  const { ids, server, endpoint } = await receiver();
  const proc = child(endpoint, "SIGTERM");
  await new Promise((resolve) => proc.stdout.once("data", resolve));
  proc.kill("SIGTERM");
  const [code, signal] = await new Promise((resolve) => proc.on("exit", (c, s) => resolve([c, s])));
  server.close();
  assert.deepEqual([code, signal], [null, "SIGTERM"]);
  assert.deepEqual(ids, expected);
});
