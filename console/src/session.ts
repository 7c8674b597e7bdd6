import { APIError, errorFromResponse, forgetWhoami, setCSRFToken } from './api';
import type { Session } from './types';

// The credential is sent once, to POST /console/session, which keeps it on
// the server and sets an HttpOnly, SameSite=Strict cookie; nothing is kept
// in localStorage or sessionStorage. Reloading the page asks GET
// /console/session for the CSRF token again.

async function call(method: string, body?: unknown, csrf?: string): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (csrf) headers['X-CSRF-Token'] = csrf;
  return fetch('/console/session', {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
}

export async function currentSession(): Promise<Session | null> {
  const res = await call('GET');
  if (res.status === 401) return null;
  if (!res.ok) throw errorFromResponse(res.status, await res.json().catch(() => null));
  const s = (await res.json()) as Session;
  setCSRFToken(s.csrf_token);
  return s;
}

export async function signIn(token: string, organizationId: string): Promise<Session> {
  const res = await call('POST', { token, organization_id: organizationId });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw errorFromResponse(res.status, body);
  const s = body as Session;
  forgetWhoami();
  setCSRFToken(s.csrf_token);
  return s;
}

// signOut ends the console session. A Keycloak session answers the
// provider's logout URL (RP-initiated logout): the caller sends the browser
// there, and the provider sends it back to /console signed out.
export async function signOut(csrf: string): Promise<{ logout_url?: string }> {
  const res = await call('DELETE', undefined, csrf);
  if (!res.ok && res.status !== 204) throw new APIError(res.status, 'sign_out_failed', 'signing out failed');
  setCSRFToken('');
  if (res.status === 200) return ((await res.json().catch(() => null)) as { logout_url?: string } | null) ?? {};
  return {};
}

export interface SignInOptions {
  token: boolean;
  oidc: boolean;
  login_url?: string;
}

export async function signInOptions(): Promise<SignInOptions> {
  const res = await fetch('/console/sign-in-options', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (!res.ok) return { token: true, oidc: false };
  return (await res.json()) as SignInOptions;
}

// switchOrganization moves an OIDC session to another of the user's organizations.
export async function switchOrganization(organizationId: string, csrf: string): Promise<Session> {
  const res = await call('PATCH', { organization_id: organizationId }, csrf);
  const body = await res.json().catch(() => null);
  if (!res.ok) throw errorFromResponse(res.status, body);
  const s = body as Session;
  forgetWhoami();
  setCSRFToken(s.csrf_token);
  return s;
}
