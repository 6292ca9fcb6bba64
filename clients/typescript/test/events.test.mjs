// The typed builders are generated from the catalog's JSON Schema; these tests fail when the two drift.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { generate, OUTPUT, SCHEMA } from "../scripts/generate-events.mjs";
import { EVENT_TYPES, event, events } from "../dist/index.js";

const schema = JSON.parse(readFileSync(SCHEMA, "utf8"));

test("src/events.ts is what the generator makes of schemas/events.schema.json", () => {
  assert.equal(readFileSync(OUTPUT, "utf8"), generate(schema));
});

test("a field added to the schema changes the generated types, so the drift test would fail", () => {
  const changed = structuredClone(schema);
  changed.$defs.PaymentData.properties.tip_minor = { type: "integer" };
  const source = generate(changed);
  assert.notEqual(source, generate(schema));
  assert.match(source, /tip_minor\?: number;/);
});

test("every event type of the catalog has a builder and the compiled package lists them all", () => {
  assert.deepEqual([...EVENT_TYPES].sort(), Object.keys(schema.discriminator.mapping).sort());
  assert.equal(Object.keys(events).length, EVENT_TYPES.length);
});

test("a builder fixes a UUID event_id and an RFC 3339 occurred_at once, and keeps what it is given", () => {
  const built = events.paymentSucceeded({ payment_id: "p-1", amount_minor: 5000, currency: "GBP" }, { client_id: "c-1" });
  assert.match(built.event_id, /^[0-9a-f-]{36}$/);
  assert.match(built.occurred_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
  assert.deepEqual(
    { type: built.type, client_id: built.client_id, data: built.data },
    { type: "payment.succeeded", client_id: "c-1", data: { payment_id: "p-1", amount_minor: 5000, currency: "GBP" } },
  );
  const given = event("form.started", { form_id: "f-1" }, { event_id: "mine-1", occurred_at: new Date(0) });
  assert.deepEqual([given.event_id, given.occurred_at], ["mine-1", "1970-01-01T00:00:00.000Z"]);
});
