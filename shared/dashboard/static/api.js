// Reading the dashboard API of this origin with the signed-in credential. Answers are kept with their ETags, so
// a refresh after a live change costs a 304 for everything that did not change.
export const session = {credential: null};
const answers = new Map(); // url -> {etag, body}

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function url(path, params) {
  const query = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  return query.toString() ? `${path}?${query}` : path;
}

const pause = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

async function send(address, headers, tries = 3) {
  const response = await fetch(address, {headers: {Authorization: `Bearer ${session.credential}`, ...headers}, cache: "no-store"});
  if (response.status === 429 && tries > 1) { // over the per-caller rate: wait as told and ask again
    await pause(Math.min(5, Number(response.headers.get("Retry-After")) || 1));
    return send(address, headers, tries - 1);
  }
  return response;
}

async function failure(response) {
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  return new ApiError(response.status, (body && body.message) || response.statusText, body && body.error);
}

export async function get(path, params) {
  const address = url(path, params);
  const known = answers.get(address);
  const response = await send(address, known ? {"If-None-Match": known.etag} : {});
  if (response.status === 304 && known) return known.body;
  if (!response.ok) throw await failure(response);
  const body = await response.json();
  const etag = response.headers.get("ETag");
  if (etag) answers.set(address, {etag, body});
  return body;
}

export const forget = () => answers.clear();

// A file of the API (CSV, a stored report) saved by the browser: fetched with the credential, which a plain link
// could not carry, then handed over as a download under the name the API gives it.
export async function download(path, params) {
  const response = await send(url(path, params), {});
  if (!response.ok) throw await failure(response);
  const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = named ? named[1] : path.split("/").pop();
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

export function explain(error) {
  if (!(error instanceof ApiError)) return `The dashboard could not be reached (${error.message}). Check your connection; the page tries again on the next change.`;
  if (error.status === 401) {
    if (session.credential && session.credential.startsWith("wss_")) return `This share link no longer opens the dashboard: ${error.message}.`;
    return `Your sign-in is not valid any more (${error.message}). Open a fresh link or paste a read key.`;
  }
  if (error.status === 403) return `No access: ${error.message}.`;
  if (error.status === 429) return "Too many requests for a moment; the numbers refresh again shortly.";
  if (error.status === 503) return `The database cannot answer right now (${error.message}). Try again in a few seconds.`;
  return `The dashboard answered ${error.status}: ${error.message}`;
}
