// Against the real ingest function, started by tests/e2e/test_typescript_client.py behind its fault-injecting
// proxy: WEDSYNC_ENDPOINT and WEDSYNC_KEY say where and as whom; WEDSYNC_EVENTS names a JSON file with the
// events to send and the event_ids ingest must refuse; the report goes to WEDSYNC_RESULT for the Python side,
// which checks the database.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";

import { Sender } from "../dist/index.js";

function env(name) {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run this through tests/e2e/test_typescript_client.py`);
  return value;
}

test("every event is settled through dropped connections, 5xx, 429, slow answers and a restart, and every rejection reaches the caller", async () => {
  const { events, refused } = JSON.parse(readFileSync(env("WEDSYNC_EVENTS"), "utf8"));
  const heard = [];
  const sender = new Sender({
    endpoint: env("WEDSYNC_ENDPOINT"),
    key: env("WEDSYNC_KEY"),
    maxBatchEvents: 10,
    flushIntervalMs: 50,
    timeoutMs: 1500,
    backoffBaseMs: 50,
    backoffCapMs: 500,
    maxAttempts: 200, // a restart of the function on a busy machine may take a while
    onRejected: (r) => heard.push(r.event_id),
  });
  const ids = events.map((e) => sender.send(e));
  const report = await sender.close();
  writeFileSync(env("WEDSYNC_RESULT"), JSON.stringify({ ids, heard, report: { ...report, rejected: report.rejected.length } }));
  assert.deepEqual(report.failed, []);
  assert.deepEqual([...heard].sort(), [...refused].sort());
  assert.equal(report.accepted + report.duplicates, events.length - refused.length);
  assert.ok(report.retries > 0);
});
