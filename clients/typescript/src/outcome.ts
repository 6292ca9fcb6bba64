import type { Event } from "./build.js";

/** One reason ingest gave for refusing an event: the JSON path of the field, a message and a type. */
export interface Reason {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

/** An event ingest refused, with the event as sent and every reason. */
export interface Rejection {
  event_id: string | null;
  event: Event;
  errors: Reason[];
}

/** Events not delivered: a 4xx (never retried) or retries given up. `status` is null when no answer came. */
export interface Failure {
  status: number | null;
  error: string;
  message: string;
  events: Event[];
}

/** Totals of one request, one flush, or everything a sender did so far. */
export interface Report {
  accepted: number;
  duplicates: number;
  rejected: Rejection[];
  failed: Failure[];
  retries: number;
}

export function emptyReport(): Report {
  return { accepted: 0, duplicates: 0, rejected: [], failed: [], retries: 0 };
}

export function addTo(total: Report, part: Report): void {
  total.accepted += part.accepted;
  total.duplicates += part.duplicates;
  total.rejected.push(...part.rejected);
  total.failed.push(...part.failed);
  total.retries += part.retries;
}

interface Answer202 {
  accepted?: number;
  duplicates?: number;
  rejected?: Array<{ index: number; event_id: string | null; errors: Reason[] }>;
}

/** The report of a 202, its `rejected` entries mapped back to the events as sent by `index`. */
export function fromAnswer(events: Event[], body: Answer202, retries: number): Report {
  const rejected = (body.rejected ?? []).map((r) => ({
    event_id: r.event_id,
    event: events[r.index] as Event,
    errors: r.errors,
  }));
  return { accepted: body.accepted ?? 0, duplicates: body.duplicates ?? 0, rejected, failed: [], retries };
}
