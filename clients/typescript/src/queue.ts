import type { Event } from "./build.js";

export const MAX_BATCH_EVENTS = 1000; // ingest's limit per request
export const MAX_BODY_BYTES = 1024 * 1024; // ingest's limit per body
const ENVELOPE_BYTES = '{"events":[]}'.length;
const encoder = new TextEncoder();

interface Item {
  event: Event;
  json: string;
  bytes: number;
  at: number;
}

/** The body of a batch request. */
export function body(items: readonly { json: string }[]): string {
  return `{"events":[${items.map((i) => i.json).join(",")}]}`;
}

/** A bounded queue cut into batches by count and bytes; due by the age of its oldest event. */
export class Queue {
  private items: Item[] = [];
  bytes = 0;
  dropped = 0;

  constructor(
    readonly maxEvents: number,
    readonly maxBytes: number,
    readonly maxAgeMs: number,
    readonly maxQueue: number,
  ) {
    if (maxEvents < 1 || maxEvents > MAX_BATCH_EVENTS) throw new RangeError(`maxBatchEvents is 1 to ${MAX_BATCH_EVENTS}`);
    if (maxBytes <= ENVELOPE_BYTES || maxBytes > MAX_BODY_BYTES) throw new RangeError(`maxBatchBytes is at most ${MAX_BODY_BYTES}`);
  }

  get length(): number {
    return this.items.length;
  }

  /** Queue the event; false (and counted in `dropped`) when the queue is full. Throws when it alone is too big. */
  add(event: Event): boolean {
    const json = JSON.stringify(event);
    const bytes = encoder.encode(json).length;
    if (bytes + ENVELOPE_BYTES > this.maxBytes) {
      throw new RangeError(`event ${event.event_id} is ${bytes} bytes; a batch holds ${this.maxBytes}`);
    }
    if (this.items.length >= this.maxQueue) {
      this.dropped += 1;
      return false;
    }
    this.items.push({ event, json, bytes, at: Date.now() });
    this.bytes += bytes + 1;
    return true;
  }

  /** 0 when a batch should go now, the milliseconds until the oldest event is due, or undefined when empty. */
  dueIn(urgent: boolean, now: number = Date.now()): number | undefined {
    const first = this.items[0];
    if (!first) return undefined;
    if (urgent || this.items.length >= this.maxEvents || this.bytes + ENVELOPE_BYTES >= this.maxBytes) return 0;
    return Math.max(0, first.at + this.maxAgeMs - now);
  }

  /** The next batch, oldest first, within `maxEvents` and `limitBytes` (default: the batch limit). */
  take(limitBytes: number = this.maxBytes): Item[] {
    const batch: Item[] = [];
    let size = ENVELOPE_BYTES;
    while (batch.length < this.maxEvents) {
      const next = this.items[0];
      if (!next || (batch.length > 0 && size + next.bytes + 1 > limitBytes)) break;
      this.items.shift();
      this.bytes -= next.bytes + 1;
      size += next.bytes + 1;
      batch.push(next);
    }
    return batch;
  }

  /** Put a batch back at the head (a page-hide send the browser refused). */
  putBack(batch: Item[]): void {
    this.items.unshift(...batch);
    for (const item of batch) this.bytes += item.bytes + 1;
  }
}
