// The sender's rules against a small scripted HTTP server (node:http), one answer per request in order.
// The same rules against the real ingest function, behind a fault-injecting proxy, are in e2e/.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";

import { events, Sender } from "../dist/index.js";

async function scripted(answers) {
  const seen = [];
  const server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk) => (text += chunk));
    request.on("end", () => {
      const batch = JSON.parse(text).events;
      seen.push({ ids: batch.map((e) => e.event_id), auth: request.headers.authorization, bytes: text.length });
      const [status, headers = {}, body] = answers.shift() ?? [202];
      const answer = body ?? { accepted: batch.length, duplicates: 0, rejected: [] };
      response.writeHead(status, { "Content-Type": "application/json", ...headers });
      response.end(JSON.stringify(answer));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${server.address().port}/v1/events`;
  return { endpoint, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}

const action = (i) => events.appAction({ user_id: "u-1", action: `a-${i}` });
const fast = { backoffBaseMs: 1, backoffCapMs: 5, flushIntervalMs: 60_000 };

test("batches are cut by count and by bytes, and every event goes exactly once", async () => {
  const server = await scripted([]);
  const sender = new Sender({ endpoint: server.endpoint, key: "k", maxBatchEvents: 4, maxBatchBytes: 600, ...fast });
  const ids = Array.from({ length: 10 }, (_, i) => sender.send(action(i)));
  const report = await sender.flush();
  await server.close();
  assert.equal(report.accepted, 10);
  assert.deepEqual(server.seen.flatMap((s) => s.ids), ids);
  assert.ok(server.seen.every((s) => s.ids.length <= 4 && s.bytes <= 600));
  assert.ok(server.seen.some((s) => s.ids.length < 4 && s.ids !== server.seen.at(-1).ids), "some batch was cut by bytes");
  assert.ok(server.seen.every((s) => s.auth === "Bearer k"));
});

test("5xx and 429 are retried with the same event_ids; the 202's rejections reach the caller", async () => {
  const rejected = { accepted: 1, duplicates: 0, rejected: [{ index: 1, event_id: null, errors: [{ loc: ["data"], msg: "bad", type: "x" }] }] };
  const server = await scripted([[503], [429, { "Retry-After": "0" }], [500], [202, {}, rejected]]);
  const heard = [];
  const sender = new Sender({ endpoint: server.endpoint, key: "k", onRejected: (r) => heard.push(r), ...fast });
  const ids = [sender.send(action(1)), sender.send(action(2))];
  const report = await sender.flush();
  await server.close();
  assert.equal(server.seen.length, 4);
  assert.ok(server.seen.every((s) => JSON.stringify(s.ids) === JSON.stringify(ids)));
  assert.equal(report.retries, 3);
  assert.deepEqual(heard.map((r) => r.event.event_id), [ids[1]]);
});

test("a 4xx is never retried and reaches the caller with its events", async () => {
  const server = await scripted([[401, {}, { error: "unauthorized", message: "no such key" }]]);
  const failures = [];
  const sender = new Sender({ endpoint: server.endpoint, key: "bad", onFailed: (f) => failures.push(f), ...fast });
  const id = sender.send(action(1));
  const report = await sender.flush();
  await server.close();
  assert.equal(server.seen.length, 1);
  assert.deepEqual(failures.map((f) => [f.status, f.error, f.events[0].event_id]), [[401, "unauthorized", id]]);
  assert.equal(report.failed.length, 1);
});

test("the queue is bounded: events beyond maxQueue are dropped and counted, the rest are sent", async () => {
  const server = await scripted([]);
  const sender = new Sender({ endpoint: server.endpoint, maxQueue: 3, ...fast });
  const ids = Array.from({ length: 5 }, (_, i) => sender.send(action(i)));
  assert.deepEqual(ids.map((id) => id === null), [false, false, false, true, true]);
  assert.equal(sender.dropped, 2);
  assert.equal((await sender.flush()).accepted, 3);
  await server.close();
});

test("attempts run out into a failure that names the last error, never a silent loss", async () => {
  const server = await scripted([[500], [500], [500]]);
  const sender = new Sender({ endpoint: server.endpoint, maxAttempts: 3, ...fast });
  sender.send(action(1));
  const report = await sender.flush();
  await server.close();
  assert.deepEqual(report.failed.map((f) => [f.status, f.events.length]), [[500, 1]]);
  assert.match(report.failed[0].message, /gave up after 3 attempts/);
});
