// Flushing when the program goes away: the page in a browser, the process on a server. Neither imports a
// Node-only module, so the package stays usable in edge runtimes.
import type { Sender } from "./sender.js";

/**
 * In a browser: send what is queued when the page is hidden or unloaded (`visibilitychange` to hidden, and
 * `pagehide`), with keepalive fetch or sendBeacon (see `Sender.pageHide`). Returns a function that removes it.
 */
export function flushOnPageHide(sender: Sender, target: Pick<Window, "addEventListener" | "removeEventListener"> = globalThis as unknown as Window): () => void {
  const onHidden = () => {
    if (globalThis.document?.visibilityState === "hidden") sender.pageHide();
  };
  const onPageHide = () => sender.pageHide();
  target.addEventListener("visibilitychange", onHidden);
  target.addEventListener("pagehide", onPageHide);
  return () => {
    target.removeEventListener("visibilitychange", onHidden);
    target.removeEventListener("pagehide", onPageHide);
  };
}

interface ProcessLike {
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  kill(pid: number, signal: string): unknown;
  pid: number;
}

/**
 * On a server (Node): flush when the event loop empties (`beforeExit`) and, opt-in, on the given signals
 * (e.g. `["SIGTERM"]` in a container), then let the signal end the process as it would have. A no-op where
 * there is no `process` (browsers, edge runtimes: flush in the request's `waitUntil` there). Returns a
 * function that removes the hooks.
 */
export function flushOnShutdown(sender: Sender, signals: readonly string[] = []): () => void {
  const proc = (globalThis as { process?: ProcessLike }).process;
  if (!proc || typeof proc.once !== "function") return () => {};
  const onExit = () => {
    if (sender.queued > 0) void sender.flush();
  };
  const handlers = signals.map((signal) => {
    const handler = () => {
      void sender.close().finally(() => {
        remove();
        proc.kill(proc.pid, signal);
      });
    };
    proc.once(signal, handler);
    return [signal, handler] as const;
  });
  proc.once("beforeExit", onExit);
  const remove = () => {
    proc.off("beforeExit", onExit);
    for (const [signal, handler] of handlers) proc.off(signal, handler);
  };
  return remove;
}
