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
