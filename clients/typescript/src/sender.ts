// The sender: `send()` queues and returns at once; batches go out by count, bytes and age, one request at a
// time, each retried by the ingest contract (policy.ts) until it is settled. Uses only `fetch`, so it runs in
// browsers, Node 20+ and edge runtimes alike.
import type { Event } from "./build.js";
import { addTo, emptyReport, fromAnswer, type Failure, type Rejection, type Report } from "./outcome.js";
import { backoff, retryable, retryAfterMs } from "./policy.js";
import { body, MAX_BODY_BYTES, Queue } from "./queue.js";

/** What a browser lets leave with `keepalive` (or `sendBeacon`) at once: 64 KiB, less some headroom. */
export const KEEPALIVE_BYTES = 60_000;

export interface SenderOptions {
  /** The full URL events are POSTed to: `https://<ingest>/v1/events`, or the app's own relay route. */
  endpoint: string;
  /** The ingest key, sent as `Authorization: Bearer <key>`. Leave it out when a relay route adds it. */
  key?: string;
  maxBatchEvents?: number;
  /** Bytes per request body; 1 MiB less headroom, or KEEPALIVE_BYTES with `keepalive`. */
  maxBatchBytes?: number;
  /** The oldest queued event waits at most this long before its batch goes. */
  flushIntervalMs?: number;
  /** Events that may wait; beyond it `send()` drops and counts them in `dropped`. */
  maxQueue?: number;
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  timeoutMs?: number;
  /** Send every request with `fetch(..., {keepalive: true})`, so one in flight survives the page closing. */
  keepalive?: boolean;
  onRejected?: (rejection: Rejection) => void;
  onFailed?: (failure: Failure) => void;
  fetch?: typeof fetch;
}

type Item = ReturnType<Queue["take"]>[number];
type Outcome = Report | { waitMs: number; status: number | null; error: string; message: string };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Sender {
  readonly report: Report = emptyReport();
  private readonly queue: Queue;
  private readonly options: Required<Omit<SenderOptions, "key" | "onRejected" | "onFailed" | "fetch">> &
    Pick<SenderOptions, "key" | "onRejected" | "onFailed">;
  private readonly fetch: typeof fetch;
  private pumping: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private urgent = 0;
  private sideSends = new Set<Promise<void>>();
  private closed = false;

  constructor(options: SenderOptions) {
    const keepalive = options.keepalive ?? false;
    this.options = {
      maxBatchEvents: 500,
      maxBatchBytes: keepalive ? KEEPALIVE_BYTES : MAX_BODY_BYTES - 16 * 1024,
      flushIntervalMs: 1000,
      maxQueue: 10_000,
      maxAttempts: 10,
      backoffBaseMs: 500,
      backoffCapMs: 30_000,
      timeoutMs: 30_000,
      ...options,
      keepalive,
    };
    const o = this.options;
    this.queue = new Queue(o.maxBatchEvents, o.maxBatchBytes, o.flushIntervalMs, o.maxQueue);
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Events `send()` refused because `maxQueue` were already waiting. */
  get dropped(): number {
    return this.queue.dropped;
  }

  /** Events queued and not yet sent. */
  get queued(): number {
    return this.queue.length;
  }

  /** Queue one event; its `event_id` (kept, or a fresh UUID fixed now), or null when the queue was full. */
  send(event: Event): string | null {
    if (this.closed) throw new Error("this sender is closed");
    const identified = event.event_id ? event : { ...event, event_id: crypto.randomUUID() };
    if (!this.queue.add(identified)) return null;
    this.schedule();
    return identified.event_id;
  }

  /** Send everything queued now; resolves once it is all settled, with the report of what settled meanwhile. */
  async flush(): Promise<Report> {
    const mark = this.mark();
    this.urgent += 1;
    try {
      while (this.queue.length > 0 || this.pumping || this.sideSends.size > 0) {
        this.schedule();
        await Promise.all([this.pumping, ...this.sideSends]);
      }
    } finally {
      this.urgent -= 1;
    }
    return this.since(mark);
  }

  /** Flush, then refuse further events. */
  async close(): Promise<Report> {
    const report = await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    return report;
  }

  /**
   * The page is going away: send everything queued at once with `keepalive` fetch (the key in the
   * Authorization header), or with `navigator.sendBeacon` when there is no key (a relay route adds it; a
   * beacon cannot carry headers). Bodies stay within what the browser lets leave a closing page.
   */
  pageHide(): void {
    while (this.queue.length > 0) {
      const batch = this.queue.take(Math.min(this.options.maxBatchBytes, KEEPALIVE_BYTES));
      const payload = body(batch);
      const beacon = globalThis.navigator?.sendBeacon;
      if (!this.options.key && typeof beacon === "function") {
        const sent = beacon.call(globalThis.navigator, this.options.endpoint, new Blob([payload], { type: "application/json" }));
        if (!sent) {
          this.queue.putBack(batch);
          return;
        }
        continue;
      }
      const send = this.attempt(batch, payload, 0, true).then((outcome) => {
        if ("waitMs" in outcome) this.queue.putBack(batch); // the page stayed after all: the pump retries it
        else this.settle(outcome);
      });
      const tracked: Promise<void> = send.finally(() => this.sideSends.delete(tracked));
      this.sideSends.add(tracked);
    }
  }

  private schedule(): void {
    if (this.pumping) return;
    const due = this.queue.dueIn(this.urgent > 0);
    if (due === undefined) return;
    if (due > 0) {
      if (!this.timer) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.schedule();
        }, due);
        // A waiting batch does not keep a Node process alive; the shutdown hook flushes it.
        (this.timer as { unref?: () => void }).unref?.();
      }
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      this.schedule();
    });
  }

  private async pump(): Promise<void> {
    while (this.queue.dueIn(this.urgent > 0 || this.closed) === 0) {
      const batch = this.queue.take();
      let report: Report;
      try {
        report = await this.deliver(batch);
      } catch (exc) {
        // A failure of these events, reported, never a stalled sender.
        report = { ...emptyReport(), failed: [{ status: null, error: "client_error", message: String(exc), events: batch.map((i) => i.event) }] };
      }
      this.settle(report);
    }
  }

  /** One batch until it is settled: a 202, a 4xx, or the attempts spent. */
  private async deliver(batch: Item[]): Promise<Report> {
    const payload = body(batch);
    const o = this.options;
    for (let tries = 0; ; tries += 1) {
      const outcome = await this.attempt(batch, payload, tries, o.keepalive);
      if (!("waitMs" in outcome)) return outcome;
      if (tries + 1 >= o.maxAttempts) {
        const events = batch.map((i) => i.event);
        const message = `gave up after ${tries + 1} attempts: ${outcome.message}`;
        return { ...emptyReport(), failed: [{ status: outcome.status, error: outcome.error, message, events }], retries: tries };
      }
      await sleep(Math.max(outcome.waitMs, backoff(tries, o.backoffBaseMs, o.backoffCapMs)));
    }
  }

  private async attempt(batch: Item[], payload: string, tries: number, keepalive: boolean): Promise<Outcome> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.options.key) headers.Authorization = `Bearer ${this.options.key}`;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.options.timeoutMs);
    const events = batch.map((i) => i.event);
    try {
      const answer = await this.fetch(this.options.endpoint, { method: "POST", headers, body: payload, keepalive, signal: abort.signal });
      const text = await answer.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: kept as text for the failure's message
      }
      const problem = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
      const error = String(problem.error ?? "http_error");
      const message = String(problem.message ?? text.slice(0, 500));
      if (answer.status === 202) return fromAnswer(events, problem, tries);
      if (!retryable(answer.status)) {
        return { ...emptyReport(), failed: [{ status: answer.status, error, message, events }], retries: tries };
      }
      return { waitMs: retryAfterMs(answer.headers.get("Retry-After")) ?? 0, status: answer.status, error, message };
    } catch (exc) {
      return { waitMs: 0, status: null, error: "connection_error", message: String(exc) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Count a settled batch and hand its rejections and failures to the caller; a callback's error is contained. */
  private settle(report: Report): void {
    addTo(this.report, report);
    const calls = [
      ...report.rejected.map((r) => () => this.options.onRejected?.(r)),
      ...report.failed.map((f) => () => this.options.onFailed?.(f)),
    ];
    for (const call of calls) {
      try {
        call();
      } catch (exc) {
        console.error("a WedSync sender callback threw", exc);
      }
    }
  }

  private mark(): [number, number, number, number, number] {
    const r = this.report;
    return [r.accepted, r.duplicates, r.rejected.length, r.failed.length, r.retries];
  }

  private since([accepted, duplicates, rejected, failed, retries]: [number, number, number, number, number]): Report {
    const r = this.report;
    return {
      accepted: r.accepted - accepted,
      duplicates: r.duplicates - duplicates,
      rejected: r.rejected.slice(rejected),
      failed: r.failed.slice(failed),
      retries: r.retries - retries,
    };
  }
}
