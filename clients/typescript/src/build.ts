/** An event as sent: the envelope of schemas/events.schema.json with `data` typed per event type. */
export interface Event<T extends string = string, D = unknown> {
  event_id: string;
  type: T;
  occurred_at: string;
  client_id?: string | null;
  schema_version?: number;
  data: D;
}

/** Envelope fields a caller may give; `event_id` and `occurred_at` default to a fresh UUID and now. */
export interface EnvelopeFields {
  event_id?: string;
  occurred_at?: string | Date;
  client_id?: string | null;
}

/** One event; its `event_id` is fixed here, once, so every retry sends the same id. */
export function build<T extends string, D>(type: T, data: D, fields: EnvelopeFields = {}): Event<T, D> {
  const { event_id, occurred_at, ...rest } = fields;
  const when = occurred_at ?? new Date();
  return {
    ...rest,
    event_id: event_id ?? crypto.randomUUID(),
    type,
    occurred_at: when instanceof Date ? when.toISOString() : when,
    data,
  };
}
