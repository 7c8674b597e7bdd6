// Every call the console makes is a public API call, sent through
// /console/api/* so that the server adds the session's credential (the
// browser never holds it after sign-in). State changes carry the
// session's CSRF token.

export interface APIErrorBody {
  error?: { code?: string; message?: string; field?: string };
}

export class APIError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

// errorFromResponse turns an API error body into an APIError with a
// message a person can act on.
export function errorFromResponse(status: number, body: unknown): APIError {
  const e = (body as APIErrorBody | null)?.error;
  if (e && typeof e.message === 'string') {
    return new APIError(status, e.code ?? 'error', e.message, e.field);
  }
  return new APIError(status, 'http_' + status, `the server answered ${status}`);
}

let csrfToken = '';
export function setCSRFToken(t: string) {
  if (t !== csrfToken) whoamiCache = null; // another session: another caller
  csrfToken = t;
}

let whoamiCache: Promise<unknown> | null = null;
// forgetWhoami drops the cached caller (another organization: other scopes).
export function forgetWhoami() {
  whoamiCache = null;
}
// whoami is the signed-in credential (GET /api/whoami), asked once per session.
export function whoami<T>(): Promise<T> {
  if (!whoamiCache) {
    const p = get<T>('/api/whoami');
    whoamiCache = p;
    p.catch(() => {
      if (whoamiCache === p) whoamiCache = null;
    });
  }
  return whoamiCache as Promise<T>;
}
export function getCSRFToken(): string {
  return csrfToken;
}

// onUnauthenticated is called when the session is gone (expired, server restarted).
let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(f: () => void) {
  onUnauthenticated = f;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken;
  const url = path.startsWith('/api/') ? '/console' + path : path;
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!res.ok) {
    const err = errorFromResponse(res.status, parsed);
    if (res.status === 401 && err.code === 'no_session') onUnauthenticated();
    throw err;
  }
  return parsed as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body);
export const patch = <T>(path: string, body?: unknown) => request<T>('PATCH', path, body);
export const del = <T>(path: string) => request<T>('DELETE', path);
