// The one client of CloudAtlas's JSON APIs, shared by the phone page and the data cleaner.
// Both servers answer every failure as {status, error, message}, with a sentence meant for
// people: that sentence is what a caller shows. A request that never reached the server is an
// ApiError too (status 0, error "network"), so callers handle one kind of failure.

export class ApiError extends Error {
  constructor(status, error, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.error = error;
  }

  /** True when the server was not reached at all (offline, server down, connection cut). */
  get network() { return this.status === 0; }
}

const NETWORK_MESSAGE = "Could not reach the server. Check the connection and try again.";

/**
 * fetch + the JSON error format. ``json`` is sent as a JSON body, ``body`` as it is (a FormData);
 * resolves to the parsed JSON answer (null when there is none), rejects with an ApiError.
 * ``fallback(status)`` words a failure whose body is not the JSON error (a proxy's HTML page).
 */
export async function request(url, { method = "GET", json, body, headers = {}, signal, fallback } = {}) {
  const options = { method, headers: { ...headers }, signal };
  if (json !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(json);
  } else if (body !== undefined) {
    options.body = body;
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network", NETWORK_MESSAGE);
  }
  let data = null;
  try { data = await response.json(); } catch { /* no JSON body: worded below */ }
  if (!response.ok) {
    const message = (data && data.message) || (fallback && fallback(response.status))
      || `${response.status} ${response.statusText}`.trim();
    throw new ApiError(response.status, (data && data.error) || "http_error", message);
  }
  return data;
}
