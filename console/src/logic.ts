// Front-end logic without the DOM, unit-tested with vitest (logic.test.ts).
import type { Delivery, EventType } from './types';

export interface EventFamily {
  family: string; // "registration"
  wildcard: string; // "registration.*"
  types: EventType[];
}

// groupEventTypes groups the catalog by family (the part before the first
// dot), families and types sorted by name, operational types last.
export function groupEventTypes(types: EventType[]): EventFamily[] {
  const byFamily = new Map<string, EventType[]>();
  for (const t of types) {
    const family = t.name.includes('.') ? t.name.slice(0, t.name.indexOf('.')) : t.name;
    const list = byFamily.get(family) ?? [];
    list.push(t);
    byFamily.set(family, list);
  }
  const families = [...byFamily.entries()].map(([family, list]) => ({
    family,
    wildcard: family + '.*',
    types: list.sort((a, b) => a.name.localeCompare(b.name)),
  }));
  const operational = (f: EventFamily) => f.types.every((t) => t.operational);
  return families.sort((a, b) => Number(operational(a)) - Number(operational(b)) || a.family.localeCompare(b.family));
}

// toggleEvent adds or removes a subscription. Choosing "*" or a family
// wildcard drops the names it covers, so the list stays minimal.
export function toggleEvent(selected: string[], name: string): string[] {
  if (selected.includes(name)) return selected.filter((s) => s !== name);
  if (name === '*') return ['*', ...selected.filter((s) => !coveredByStar(s))];
  if (name.endsWith('.*')) {
    const prefix = name.slice(0, -1);
    return [...selected.filter((s) => !s.startsWith(prefix)), name];
  }
  return [...selected, name];
}

// "*" covers every domain type but no operational one (api/openapi.yaml, EventType.operational).
function coveredByStar(s: string): boolean {
  return !['webhook.', 'integration.'].some((p) => s.startsWith(p));
}

// covers reports whether a selection already includes name through a wildcard.
export function covers(selected: string[], name: string, operational = false): boolean {
  if (selected.includes(name)) return true;
  if (!operational && selected.includes('*')) return true;
  const family = name.includes('.') ? name.slice(0, name.indexOf('.')) : name;
  return name !== family + '.*' && selected.includes(family + '.*');
}

export interface FieldErrors {
  name?: string;
  url?: string;
  events?: string;
}

// validateWebhook checks the form before sending it; the API checks again
// and its field errors are shown the same way.
export function validateWebhook(name: string, url: string, events: string[]): FieldErrors {
  const errs: FieldErrors = {};
  if (!name.trim()) errs.name = 'Give the endpoint a name.';
  let u: URL | null = null;
  try {
    u = new URL(url);
  } catch {
    u = null;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) errs.url = 'Enter an http:// or https:// URL.';
  if (events.length === 0) errs.events = 'Choose at least one event type.';
  return errs;
}

// mergeDeliveries merges a freshly polled page into the list shown,
// newest first, and returns the ids that were not there before (to
// highlight them).
export function mergeDeliveries(shown: Delivery[], polled: Delivery[]): { list: Delivery[]; fresh: string[] } {
  const known = new Set(shown.map((d) => d.id));
  const byId = new Map<string, Delivery>();
  for (const d of shown) byId.set(d.id, d);
  for (const d of polled) byId.set(d.id, d); // a pending row may have completed
  const list = [...byId.values()].sort(
    (a, b) => b.attempted_at.localeCompare(a.attempted_at) || b.id.localeCompare(a.id),
  );
  return { list, fresh: polled.filter((d) => !known.has(d.id)).map((d) => d.id) };
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

// outcome is the one-line summary of an attempt.
export function outcome(d: {
  status: string;
  response_status_code?: number | null;
  error_message?: string | null;
  interrupted?: boolean;
}): string {
  if (d.interrupted) return 'interrupted (sent, outcome not recorded)';
  const code = d.response_status_code ? `HTTP ${d.response_status_code}` : '';
  if (d.status === 'success') return code || 'delivered';
  if (d.status === 'pending') return 'in flight';
  if (d.status === 'cancelled') return 'cancelled';
  return [code, d.error_message].filter(Boolean).join(' — ') || 'failed';
}

// prettyBody pretty-prints JSON, leaves anything else as it is.
export function prettyBody(body: string | null | undefined): string {
  if (!body) return '';
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

// OpenAPI documents are plain JSON here.
type JSONObject = Record<string, any>;

// explorerSpec prepares /api/openapi.json for the explorer: "try it" goes
// either through the console session (the server adds the credential;
// the CSRF token is sent as an API key header the explorer fills in), or
// straight to the API with a token the user authorizes with.
export const consoleSessionScheme = 'consoleSession';
export function explorerSpec(doc: JSONObject, origin: string): JSONObject {
  const out: JSONObject = structuredClone(doc);
  out.servers = [
    { url: origin + '/console', description: 'Through your console session (its credential and organization)' },
    { url: origin, description: 'Directly (authorize with a service token or API key)' },
  ];
  out.components = out.components ?? {};
  out.components.securitySchemes = {
    ...(out.components.securitySchemes ?? {}),
    [consoleSessionScheme]: {
      type: 'apiKey',
      in: 'header',
      name: 'X-CSRF-Token',
      description: 'Filled in by the console: the session cookie carries the credential, this header proves the request came from the console.',
    },
  };
  const addSession = (security: JSONObject[] | undefined) => {
    if (!security || security.length === 0) return security; // public operations stay public
    return [...security, { [consoleSessionScheme]: [] }];
  };
  out.security = addSession(out.security);
  for (const item of Object.values<JSONObject>(out.paths ?? {})) {
    for (const [method, op] of Object.entries<JSONObject>(item)) {
      if (['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(method) && op.security) {
        op.security = addSession(op.security);
      }
    }
  }
  return out;
}

// sessionRequest reports whether an explorer request goes through the
// console session (and so needs the CSRF token and the cookie).
export function sessionRequest(url: string, origin: string): boolean {
  return url.startsWith(origin + '/console/api/');
}

// --- the webhook edit form ----------------------------------------------------

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

// parseJSONObject reads a JSON object typed into a textarea; empty text is
// null (the field is cleared).
export function parseJSONObject(text: string): Parsed<Record<string, unknown> | null> {
  if (!text.trim()) return { ok: true, value: null };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `Not valid JSON: ${(e as Error).message}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, error: 'Must be a JSON object ({…}).' };
  return { ok: true, value: v as Record<string, unknown> };
}

// parseLines reads one entry a line, blank lines ignored.
export function parseLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

// parseHeaders reads "Name: value" lines.
export function parseHeaders(text: string): Parsed<Record<string, string> | null> {
  const out: Record<string, string> = {};
  const lines = parseLines(text);
  for (let i = 0; i < lines.length; i++) {
    const at = lines[i].indexOf(':');
    if (at <= 0) return { ok: false, error: `Line ${i + 1}: write "Name: value".` };
    out[lines[i].slice(0, at).trim()] = lines[i].slice(at + 1).trim();
  }
  return { ok: true, value: lines.length ? out : null };
}

export function formatHeaders(h: Record<string, string> | null | undefined): string {
  return Object.entries(h ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
}

// changedFields returns the fields of next that differ from before (deep,
// by JSON), so a PATCH sends only what the person changed.
export function changedFields(before: Record<string, unknown>, next: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(next)) {
    if (JSON.stringify(before[k] ?? null) !== JSON.stringify(v ?? null)) out[k] = v;
  }
  return out;
}

// sampleEvent is the envelope the filter preview starts from: the
// catalog's example object for the type.
export function sampleEvent(type: string, example: unknown): string {
  return JSON.stringify({ type, data: { object: example ?? {} } }, null, 2);
}

// fieldOf maps an API error field (event_filters.min_attendees,
// custom_headers.X-Bad, payload_include.1) to the form field showing it.
export function fieldOf(apiField: string | undefined): string | undefined {
  if (!apiField) return undefined;
  return apiField.split('.')[0];
}

// localToRFC3339 turns a datetime-local value (the browser's local time)
// into RFC 3339 UTC; '' when it cannot be read.
export function localToRFC3339(v: string): string {
  if (!v) return '';
  const d = new Date(v);
  return isNaN(d.getTime()) ? '' : d.toISOString();
}

// rfc3339ToLocal is the datetime-local value for an instant.
export function rfc3339ToLocal(s: string): string {
  const d = new Date(s);
  if (isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export interface RecoveryProgress {
  found: number;
  started: number;
  done: number;
  succeeded: number;
  failed: number;
  finished: boolean;
}

// recoverySummary is the one-line progress of a recovery.
export function recoverySummary(p: RecoveryProgress): string {
  if (p.finished && p.found === 0) return 'Finished: nothing was owed in that window.';
  const head = p.finished ? 'Finished' : 'In progress';
  return `${head}: ${p.done} of ${p.found} re-delivered (${p.succeeded} succeeded, ${p.failed} failed), ${p.started} started.`;
}

export function recoveryPercent(p: RecoveryProgress): number {
  if (p.found === 0) return p.finished ? 100 : 0;
  return Math.round((100 * p.done) / p.found);
}

// --- API keys -------------------------------------------------------------------

export interface ScopeGroup {
  area: string;
  wildcard?: string; // "webhooks:*" when grantable
  scopes: string[];
}

// groupScopes groups the scopes a caller may grant by area ("webhooks"),
// the area wildcard apart; "*" is left to the caller.
export function groupScopes(grantable: string[]): ScopeGroup[] {
  const by = new Map<string, ScopeGroup>();
  for (const s of grantable) {
    if (s === '*') continue;
    const area = s.slice(0, s.indexOf(':'));
    const g = by.get(area) ?? { area, scopes: [] };
    if (s.endsWith(':*')) g.wildcard = s;
    else g.scopes.push(s);
    by.set(area, g);
  }
  return [...by.values()].sort((a, b) => a.area.localeCompare(b.area));
}

// toggleScope adds or removes a scope; a wildcard drops what it covers.
export function toggleScope(selected: string[], s: string): string[] {
  if (selected.includes(s)) return selected.filter((x) => x !== s);
  if (s === '*') return ['*'];
  if (s.endsWith(':*')) {
    const prefix = s.slice(0, -1);
    return [...selected.filter((x) => !x.startsWith(prefix)), s];
  }
  return [...selected, s];
}

// scopeCovered reports whether a selection includes s through a wildcard.
export function scopeCovered(selected: string[], s: string): boolean {
  if (selected.includes('*')) return s !== '*';
  const area = s.slice(0, s.indexOf(':'));
  return !s.endsWith(':*') && selected.includes(area + ':*');
}

// parseIPs reads addresses or CIDR ranges separated by commas, spaces or lines.
export function parseIPs(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export interface KeyErrors {
  name?: string;
  scopes?: string;
  allowed_ips?: string;
  expires_at?: string;
}

const ipv4 = /^(\d{1,3})(\.\d{1,3}){3}(\/\d{1,2})?$/;
const ipv6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:.]*(\/\d{1,3})?$/;

// validateKey checks the new-key form; the API checks again.
export function validateKey(name: string, scopes: string[], ips: string[], expiresAt: string, now = Date.now()): KeyErrors {
  const e: KeyErrors = {};
  if (!name.trim()) e.name = 'Give the key a name.';
  if (scopes.length === 0) e.scopes = 'Choose at least one scope.';
  const bad = ips.find((ip) => !ipv4.test(ip) && !ipv6.test(ip));
  if (bad) e.allowed_ips = `"${bad}" is not an IP address or CIDR range (203.0.113.0/24, 2001:db8::/32).`;
  if (expiresAt) {
    const t = new Date(expiresAt).getTime();
    if (isNaN(t)) e.expires_at = 'Give a date and time.';
    else if (t <= now) e.expires_at = 'Give a time in the future.';
  }
  return e;
}

// neededScope reads the scope named in an insufficient_scope message
// ("this call needs the webhooks:read scope").
export function neededScope(message: string): string | null {
  const m = message.match(/needs the (.+?) scope/);
  return m ? m[1] : null;
}

// --- integrations -----------------------------------------------------------------

export interface Activity {
  kind: 'push' | 'sync' | 'token_refresh';
  id: string;
  status: string;
  started_at: string;
  completed_at: string | null;
  event_id?: string | null;
  event_type?: string | null;
  action?: string | null;
  external_id?: string | null;
  detail?: string | null;
  attempts?: number | null;
  trigger?: string | null;
  rotated?: boolean | null;
  records?: Record<string, number>;
  error: { code?: string; message?: string } | null;
  response: { request?: string; status?: number; excerpt?: string } | null;
  retry_of: string | null;
  workflow_id: string | null;
  temporal_url?: string;
}

// activitySummary says in words what a push, sync or refresh did.
export function activitySummary(a: Activity): string {
  const parts: string[] = [];
  if (a.kind === 'push') {
    if (a.event_type) parts.push(a.event_type);
    if (a.action) parts.push(a.action + (a.external_id ? ` ${a.external_id}` : ''));
    if (a.detail) parts.push(a.detail);
    if (a.attempts && a.attempts > 1) parts.push(`${a.attempts} attempts`);
  } else if (a.kind === 'sync') {
    if (a.trigger) parts.push(a.trigger);
    const r = Object.entries(a.records ?? {})
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${n} ${k}`);
    parts.push(r.length ? r.join(', ') : 'no records');
  } else {
    if (a.trigger) parts.push(a.trigger === 'expired' ? 'after the provider refused the token' : 'scheduled');
    if (a.rotated) parts.push('refresh token rotated');
  }
  if (a.retry_of) parts.push('re-run');
  return parts.join(' · ');
}

// activityError is the error a person reads: the message with its code.
export function activityError(a: Activity): string {
  if (!a.error) return '';
  // A sync whose records were refused: the per-record errors are under Details.
  if (a.kind === 'sync' && a.error.code === 'sync_failed' && (a.records?.failed ?? 0) > 0) {
    const n = a.records!.failed;
    return `${n} record${n === 1 ? ' was' : 's were'} refused (Details lists each with its error)`;
  }
  const { code, message } = a.error;
  if (message && code) return message.includes(code) ? message : `${message} (${code})`;
  return message || code || '';
}

// --- usage, request log, audit -------------------------------------------------------

export type Granularity = 'minute' | 'hour' | 'day';
// usageRange is the window a granularity is charted over: the last hour
// per minute, the last day per hour, the last 30 days per day.
export function usageRange(g: Granularity, now = Date.now()): { from: string; to: string } {
  const span = g === 'minute' ? 3600_000 : g === 'hour' ? 86400_000 : 30 * 86400_000;
  const step = g === 'minute' ? 60_000 : g === 'hour' ? 3600_000 : 86400_000;
  const to = Math.ceil(now / step) * step;
  return { from: new Date(to - span).toISOString(), to: new Date(to).toISOString() };
}

export interface UsagePoint {
  start: string;
  allowed: number;
  denied: number;
}
// chartData turns points into uPlot's columns: seconds, allowed, denied.
export function chartData(points: UsagePoint[]): [number[], number[], number[]] {
  return [points.map((p) => Date.parse(p.start) / 1000), points.map((p) => p.allowed), points.map((p) => p.denied)];
}

// headroomShare is how much of the limit a peak used, 0–100.
export function headroomShare(peak: number, limit: number): number {
  if (limit <= 0) return 0;
  return Math.min(100, Math.round((100 * peak) / limit));
}

// statusClass names the class of an HTTP status for the request log.
export function statusClass(s: number): 'ok' | 'client' | 'server' {
  return s >= 500 ? 'server' : s >= 400 ? 'client' : 'ok';
}

// queryString builds ?a=b&… from the non-empty values.
export function queryString(params: Record<string, string | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}

// detailText renders an audit entry's details as "key: value" pairs.
export function detailText(d: Record<string, unknown> | null | undefined): string {
  return Object.entries(d ?? {})
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('; ');
}

// --- what the signed-in credential may do --------------------------------------

// holds reports whether held grants scope: the scope itself, its area's
// wildcard ("webhooks:*") or "*" (the API's apikeys.Covers; the
// service-level scopes, which "*" does not cover, are not console actions).
export function holds(held: readonly string[], scope: string): boolean {
  if (held.includes(scope) || held.includes('*')) return true;
  const area = scope.slice(0, scope.indexOf(':'));
  return area !== '' && held.includes(area + ':*');
}

// The console's actions and the scopes that allow each (any one of them):
// the x-required-scope of the operation behind the button (docs/AUTH.md).
export const actionScopes = {
  'webhook.create': ['webhooks:write'],
  'webhook.edit': ['webhooks:write'], // edit, disable, re-enable
  'webhook.test': ['webhooks:write'],
  'webhook.rotate_secret': ['webhooks:write'],
  'webhook.redeliver': ['webhooks:write', 'webhooks:rerun'],
  'webhook.recover': ['webhooks:write', 'webhooks:rerun'],
  'api_key.create': ['api_keys:write', 'api_keys:own'],
  'api_key.change': ['api_keys:write', 'api_keys:own'], // rotate, revoke (own keys only with api_keys:own)
  'integration.change': ['integrations:write'], // connect, reconnect, sync now, refresh, settings, disconnect
  'integration.rerun': ['integrations:write', 'integrations:rerun'],
} as const;
export type Action = keyof typeof actionScopes;

// can reports whether the credential (GET /api/whoami) may take action;
// nothing is allowed until whoami has answered, so a button never shows
// to someone the API would refuse.
export function can(me: { scopes: readonly string[] } | null | undefined, action: Action): boolean {
  if (!me) return false;
  return actionScopes[action].some((s) => holds(me.scopes, s));
}

// keyChanges is the PATCH /api/api-keys/{id} body for the edit form: only
// the fields that differ from the key (IP ranges compared as lists, an
// expiry to the minute), so an unchanged form sends nothing.
export function keyChanges(
  k: { name: string; description: string | null; allowed_ips: string[]; expires_at: string | null; scopes?: string[] },
  form: { name: string; description: string; ips: string[]; expires: string; scopes?: string[] },
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Scopes compared as sets: the API normalizes their order.
  const set = (l: string[]) => [...new Set(l)].sort().join(',');
  if (form.scopes && set(form.scopes) !== set(k.scopes ?? [])) out.scopes = form.scopes;
  if (form.name.trim() !== k.name) out.name = form.name.trim();
  if (form.description.trim() !== (k.description ?? '')) out.description = form.description.trim();
  if (form.ips.join(',') !== k.allowed_ips.join(',')) out.allowed_ips = form.ips;
  if (form.expires) {
    const next = localToRFC3339(form.expires);
    // The form holds minutes (datetime-local): the same minute is no change.
    const minute = (t: string) => Math.floor(new Date(t).getTime() / 60_000);
    if (!k.expires_at || minute(next) !== minute(k.expires_at)) out.expires_at = next;
  }
  return out;
}

// keyScopesEditable splits a key's scopes for the edit form: those the
// signed-in credential may grant (its grantable_scopes, wildcards
// included) are offered checked; any other ("beyond") it holds cannot be
// re-sent by this credential (the API refuses a list beyond the caller,
// 403 scope_exceeds_caller), so the form does not offer to change scopes.
export function keyScopesEditable(keyScopes: readonly string[], grantable: readonly string[]): { editable: boolean; beyond: string[] } {
  const beyond = keyScopes.filter((s) => !holds(grantable, s));
  return { editable: beyond.length === 0 && grantable.length > 0, beyond };
}

// organizationChoices are the sign-in page's suggestions for the service
// token: the organizations the API listed (GET /api/organizations), then
// those used before in this browser; org_demo only while nothing is listed.
export function organizationChoices(listed: readonly string[] | null, recent: readonly string[]): string[] {
  return [...new Set([...(listed ?? []), ...recent, ...(listed ? [] : ['org_demo'])])];
}
