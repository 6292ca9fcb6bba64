// The ingest contract in one place. A 202 settles every event of the request (accepted, duplicate or
// rejected). A dropped connection, a 5xx, a 408 or a 429 means nothing was kept: the same request, with the
// same event_ids, is sent again after a backoff (for a 429, at least Retry-After). Any other 4xx is the
// sender's mistake and is never retried.

/** Whether ingest kept nothing and the same request should be sent again. */
export function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** Exponential backoff with full jitter: a uniform wait in [0, min(cap, base * 2^attempt)] milliseconds. */
export function backoff(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  return random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 32));
}

/** Milliseconds from a Retry-After header (delay-seconds or an HTTP-date); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const when = Date.parse(text);
  return Number.isNaN(when) ? undefined : Math.max(0, when - now);
}
