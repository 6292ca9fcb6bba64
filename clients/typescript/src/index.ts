export { build, type EnvelopeFields, type Event } from "./build.js";
export * from "./events.js";
export { flushOnPageHide, flushOnShutdown } from "./hooks.js";
export type { Failure, Reason, Rejection, Report } from "./outcome.js";
export { backoff, retryable, retryAfterMs } from "./policy.js";
export { MAX_BATCH_EVENTS, MAX_BODY_BYTES } from "./queue.js";
export { KEEPALIVE_BYTES, Sender, type SenderOptions } from "./sender.js";
