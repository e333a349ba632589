// api.js is the one way this app talks to the auth server, and the only place that knows the
// access token. The pattern it follows:
//
//   - The access token lives only in the variable below: never in localStorage, sessionStorage or
//     a cookie JavaScript can read. A reload forgets it; so does closing the tab.
//   - The refresh token is an HttpOnly, SameSite=Strict cookie with Path=/api/auth: this code never
//     sees it, and the browser sends it only to the auth routes of this origin.
//   - restoreSession() (on start, so after every reload) trades the cookie for a new access token
//     through POST /api/auth/refresh.
//   - A call answered 401 TOKEN_EXPIRED refreshes and is retried once. Concurrent calls share one
//     refresh in flight; tabs racing each other are reconciled by the server, which hands every
//     racer of the same cookie the same new refresh token.
//   - Any other refusal of the access token (TOKEN_REVOKED, INVALID_TOKEN, ...) means the session is
//     over: the token is dropped and listeners hear {kind: "session", signedIn: false}.
//   - Tabs tell each other about sign-in and log-out (BroadcastChannel, never the token itself):
//     a tab that hears "signed-in" restores the session from the shared cookie, one that hears
//     "signed-out" drops its token.
//
// Every answer that is not 2xx becomes an ApiError carrying the server's code and message.

// tokenRefused are the 401 codes that judge the access token itself (a wrong current password,
// also 401, leaves the session alone).
const tokenRefused = new Set(["NO_TOKEN", "INVALID_TOKEN", "TOKEN_EXPIRED", "TOKEN_REVOKED"]);

let accessToken = null;
let refreshing = null; // the promise of the refresh in flight, shared by every caller
const listeners = new Set();
const tabs = typeof BroadcastChannel === "function" ? new BroadcastChannel("auth-session") : null;

tabs?.addEventListener("message", ({ data }) => {
  if (data === "signed-out") endSession(null);
  else if (data === "signed-in" && !signedIn()) restoreSession().catch(() => {});
});

// ApiError is a failed call: the HTTP status (0 when the server could not be reached), the
// server's machine code and message, validation details, and Retry-After seconds on a 429.
export class ApiError extends Error {
  constructor(status, code, message, details = null, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

// subscribe calls listener with {kind: "call", method, path, status, code} after every request,
// and {kind: "session", signedIn, reason} when the session starts or ends. It returns a function
// that unsubscribes.
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(event) {
  for (const listener of listeners) listener(event);
}

// signedIn reports whether an access token is held.
export function signedIn() {
  return accessToken !== null;
}

function startSession(token) {
  const was = signedIn();
  accessToken = token;
  if (!was) emit({ kind: "session", signedIn: true, reason: null });
}

function endSession(reason) {
  if (!signedIn()) return;
  accessToken = null;
  emit({ kind: "session", signedIn: false, reason });
}

// api sends one JSON request to the server and returns the parsed answer (null for 204). With
// auth (the default) it sends the access token and refreshes it on 401 TOKEN_EXPIRED. It throws
// ApiError for every answer that is not 2xx.
export async function api(path, { method = "GET", body, auth = true } = {}) {
  const sent = auth ? accessToken : null;
  let res = await send(method, path, body, sent);
  if (auth && res.status === 401 && res.data?.code === "TOKEN_EXPIRED") {
    // A call that overlapped a refresh already finished may just retry with the newer token.
    if (accessToken === sent) await refresh();
    res = await send(method, path, body, accessToken);
  }
  if (res.ok) return res.data;
  const err = toError(res);
  if (auth && res.status === 401 && tokenRefused.has(err.code)) endSession(err);
  throw err;
}

// refresh trades the refresh cookie for a new access token. Callers arriving while a refresh is
// in flight get that same refresh. A refusal (401) ends the session; a network error does not.
export function refresh() {
  refreshing ??= (async () => {
    try {
      const res = await send("POST", "/api/auth/refresh", undefined, null);
      if (!res.ok) {
        const err = toError(res);
        if (res.status === 401) endSession(err);
        throw err;
      }
      startSession(res.data.accessToken);
      return res.data;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

// restoreSession is called once on start: it reports whether the refresh cookie still names a
// live session (and then holds a new access token). No cookie, or a dead one, is false.
export async function restoreSession() {
  try {
    await refresh();
    return true;
  } catch (err) {
    if (err.status === 401) return false;
    throw err;
  }
}

// register creates an account; it does not sign in.
export function register(email, password) {
  return api("/api/auth/register", { method: "POST", body: { email, password }, auth: false });
}

// login checks the password. On success the session starts (the server sets the refresh
// cookie) and the answer is returned. An account with a second factor answers
// {mfaRequired, mfaToken, methods} instead, and no session starts yet.
export async function login(email, password) {
  const data = await api("/api/auth/login", { method: "POST", body: { email, password }, auth: false });
  if (data.accessToken) {
    startSession(data.accessToken);
    tabs?.postMessage("signed-in");
  }
  return data;
}

// verifyMFA completes a login that answered mfaRequired, with its mfaToken and either an app code
// (field "code") or a recovery code (field "recoveryCode"). On success the session starts.
export async function verifyMFA(mfaToken, field, value) {
  const data = await api("/api/auth/mfa/verify", { method: "POST", body: { mfaToken, [field]: value }, auth: false });
  startSession(data.accessToken);
  tabs?.postMessage("signed-in");
  return data;
}

// passkeysSupported reports whether this browser can run the passkey ceremonies the way this app
// does: WebAuthn with the JSON helpers (parseCreationOptionsFromJSON, parseRequestOptionsFromJSON
// and toJSON), which take the server's options and give back the credential as they are.
export function passkeysSupported() {
  return typeof PublicKeyCredential === "function" &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";
}

// passkeyLogin signs in with a passkey, username-less: the browser offers the passkeys it holds for
// this site and the user picks one (and unlocks it with a PIN or biometric). With email, only that
// account's passkeys are accepted. The session starts as after a password login.
export async function passkeyLogin(email) {
  const { challengeId, options } = await api("/api/auth/passkeys/login/options", {
    method: "POST", body: email ? { email } : {}, auth: false,
  });
  const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
  const data = await api("/api/auth/passkeys/login", {
    method: "POST", body: { challengeId, credential: credential.toJSON() }, auth: false,
  });
  startSession(data.accessToken);
  tabs?.postMessage("signed-in");
  return data;
}

// addPasskey creates a passkey for the signed-in user on this device and registers it under name
// ("" lets the server name it). It returns the new passkey {id, name, createdAt, lastUsedAt}.
export async function addPasskey(name) {
  const { challengeId, options } = await api("/api/auth/passkeys/register/options", { method: "POST" });
  const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
  const { passkey } = await api("/api/auth/passkeys/register", {
    method: "POST", body: { challengeId, credential: credential.toJSON(), name },
  });
  return passkey;
}

// logout ends this session on the server (named by the cookie and the bearer token; the server
// never refuses a stale one) and forgets the access token whatever the answer.
export async function logout() {
  const token = accessToken;
  try {
    const res = await send("POST", "/api/auth/logout", undefined, token);
    if (!res.ok) throw toError(res);
  } finally {
    endSession(null);
    tabs?.postMessage("signed-out");
  }
}

// send performs one request and reads its body. It throws ApiError NETWORK_ERROR when no answer
// came back at all.
async function send(method, path, body, token) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (cause) {
    emit({ kind: "call", method, path, status: 0, code: "NETWORK_ERROR" });
    throw new ApiError(0, "NETWORK_ERROR", `the server could not be reached (${cause.message})`);
  }
  const data = await readJSON(res);
  emit({ kind: "call", method, path, status: res.status, code: res.ok ? null : data?.code ?? null });
  return { ok: res.ok, status: res.status, data, headers: res.headers };
}

// readJSON returns the parsed body, or null for an empty or non-JSON one.
async function readJSON(res) {
  if (!(res.headers.get("Content-Type") ?? "").includes("application/json")) return null;
  try {
    return await res.json();
  } catch {
    return null;
  }
}

// toError turns a failed answer into an ApiError; an answer without the server's error shape (a
// proxy's HTML page, say) gets the code HTTP_<status>.
function toError(res) {
  const code = res.data?.code ?? `HTTP_${res.status}`;
  const message = res.data?.message ?? "the server answered without an error message";
  const retry = res.headers.get("Retry-After");
  return new ApiError(res.status, code, message, res.data?.details ?? null, retry === null ? null : Number(retry));
}
