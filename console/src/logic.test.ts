import { describe, expect, it } from 'vitest';
import {
  actionScopes,
  keyChanges,
  keyScopesEditable,
  organizationChoices,
  rfc3339ToLocal,
  can,
  covers,
  holds,
  type Action,
  explorerSpec,
  formatDuration,
  groupEventTypes,
  mergeDeliveries,
  outcome,
  prettyBody,
  sessionRequest,
  toggleEvent,
  validateWebhook,
} from './logic';
import { href, parseRoute } from './route';
import { errorFromResponse } from './api';
import type { Delivery } from './types';

const d = (id: string, at: string, extra: Partial<Delivery> = {}): Delivery => ({
  id,
  webhook_id: 'wh_1',
  event_type: 'webhook.test',
  message_id: 'msg_' + id,
  status: 'success',
  attempted_at: at,
  is_retry: false,
  retry_number: 0,
  workflow_id: 'wf',
  run_id: 'run',
  ...extra,
});

describe('routes', () => {
  const cases: [string, ReturnType<typeof parseRoute>][] = [
    ['/console', { page: 'webhooks' }],
    ['/console/', { page: 'webhooks' }],
    ['/console/webhooks', { page: 'webhooks' }],
    ['/console/webhooks/wh_1', { page: 'webhook', id: 'wh_1' }],
    ['/console/webhooks/wh_1/deliveries/dl_2', { page: 'delivery', id: 'wh_1', deliveryId: 'dl_2' }],
    ['/console/explorer', { page: 'explorer' }],
    ['/console/nope/x', { page: 'not_found', path: '/console/nope/x' }],
  ];
  for (const [path, want] of cases) {
    it(`parses ${path}`, () => expect(parseRoute(path)).toEqual(want));
  }
  it('round-trips ids that need escaping', () => {
    const r = { page: 'delivery' as const, id: 'wh a/b', deliveryId: 'd?1' };
    expect(parseRoute(href(r))).toEqual(r);
  });
});

describe('event-type picker', () => {
  const types = [
    { name: 'webhook.test', description: '', operational: true },
    { name: 'registration.confirmed', description: '' },
    { name: 'event.created', description: '' },
    { name: 'registration.cancelled', description: '' },
  ];
  it('groups by family, operational families last', () => {
    const g = groupEventTypes(types);
    expect(g.map((f) => f.family)).toEqual(['event', 'registration', 'webhook']);
    expect(g[1].types.map((t) => t.name)).toEqual(['registration.cancelled', 'registration.confirmed']);
    expect(g[1].wildcard).toBe('registration.*');
  });
  it('a family wildcard replaces the names it covers', () => {
    let s = toggleEvent([], 'registration.confirmed');
    s = toggleEvent(s, 'event.created');
    s = toggleEvent(s, 'registration.*');
    expect(s).toEqual(['event.created', 'registration.*']);
    expect(covers(s, 'registration.cancelled')).toBe(true);
    expect(covers(s, 'registration.*')).toBe(true);
    expect(covers(s, 'event.updated')).toBe(false);
  });
  it('* covers domain types but keeps operational ones', () => {
    const s = toggleEvent(['event.created', 'webhook.test'], '*');
    expect(s).toEqual(['*', 'webhook.test']);
    expect(covers(s, 'registration.confirmed')).toBe(true);
    expect(covers(['*'], 'webhook.disabled', true)).toBe(false);
  });
  it('toggling a chosen name removes it', () => {
    expect(toggleEvent(['a.b', 'c.d'], 'a.b')).toEqual(['c.d']);
  });
});

describe('validateWebhook', () => {
  it('names each bad field', () => {
    expect(validateWebhook('', 'ftp://x', [])).toEqual({
      name: 'Give the endpoint a name.',
      url: 'Enter an http:// or https:// URL.',
      events: 'Choose at least one event type.',
    });
    expect(validateWebhook('n', 'not a url', ['*']).url).toBeDefined();
  });
  it('accepts a good form', () => {
    expect(validateWebhook('n', 'http://127.0.0.1:9999/hook', ['*'])).toEqual({});
  });
});

describe('mergeDeliveries', () => {
  it('adds new attempts newest first and reports them', () => {
    const shown = [d('a', '2026-01-01T00:00:01Z', { status: 'pending' })];
    const polled = [d('b', '2026-01-01T00:00:02Z'), d('a', '2026-01-01T00:00:01Z')];
    const { list, fresh } = mergeDeliveries(shown, polled);
    expect(list.map((x) => x.id)).toEqual(['b', 'a']);
    expect(list[1].status).toBe('success'); // the pending row completed
    expect(fresh).toEqual(['b']);
  });
  it('reports nothing new when nothing changed', () => {
    const shown = [d('a', '2026-01-01T00:00:01Z')];
    expect(mergeDeliveries(shown, shown).fresh).toEqual([]);
  });
});

describe('formatting', () => {
  it('durations', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(42)).toBe('42 ms');
    expect(formatDuration(1234)).toBe('1.23 s');
    expect(formatDuration(12345)).toBe('12.3 s');
  });
  it('outcomes', () => {
    expect(outcome({ status: 'success', response_status_code: 200 })).toBe('HTTP 200');
    expect(outcome({ status: 'failed', response_status_code: 500, error_message: 'server error' })).toBe('HTTP 500 — server error');
    expect(outcome({ status: 'failed', error_message: 'connection refused' })).toBe('connection refused');
    expect(outcome({ status: 'pending' })).toBe('in flight');
    expect(outcome({ status: 'failed', interrupted: true })).toMatch(/interrupted/);
  });
  it('pretty-prints JSON bodies only', () => {
    expect(prettyBody('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyBody('plain text')).toBe('plain text');
    expect(prettyBody(null)).toBe('');
  });
});

describe('API errors', () => {
  it('keeps the code, message and field of the API error shape', () => {
    const e = errorFromResponse(422, { error: { code: 'invalid_field', message: 'url: bad', field: 'url' } });
    expect([e.status, e.code, e.message, e.field]).toEqual([422, 'invalid_field', 'url: bad', 'url']);
  });
  it('falls back for a body that is not the error shape', () => {
    const e = errorFromResponse(502, null);
    expect([e.code, e.message]).toEqual(['http_502', 'the server answered 502']);
  });
});

describe('explorerSpec', () => {
  const doc = {
    openapi: '3.0.3',
    security: [{ serviceToken: [] }],
    components: { securitySchemes: { serviceToken: { type: 'http', scheme: 'bearer' } } },
    paths: {
      '/healthz': { get: { security: [] } },
      '/api/webhooks': { get: {}, post: { security: [{ serviceToken: [] }] } },
    },
  };
  const out = explorerSpec(doc, 'http://h:1');
  it('offers the console session first, then direct calls', () => {
    expect(out.servers.map((s: { url: string }) => s.url)).toEqual(['http://h:1/console', 'http://h:1']);
  });
  it('adds the CSRF header as an alternative credential, leaving public operations public', () => {
    expect(out.components.securitySchemes.consoleSession).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-CSRF-Token' });
    expect(out.security).toEqual([{ serviceToken: [] }, { consoleSession: [] }]);
    expect(out.paths['/healthz'].get.security).toEqual([]);
    expect(out.paths['/api/webhooks'].post.security).toEqual([{ serviceToken: [] }, { consoleSession: [] }]);
  });
  it('does not change the document it was given', () => {
    expect(doc.security).toEqual([{ serviceToken: [] }]);
  });
  it('tells session requests from direct ones', () => {
    expect(sessionRequest('http://h:1/console/api/webhooks', 'http://h:1')).toBe(true);
    expect(sessionRequest('http://h:1/api/webhooks', 'http://h:1')).toBe(false);
  });
});

describe('can: actions from the whoami scopes', () => {
  const support = { scopes: ['integrations:all_users', 'integrations:read', 'integrations:rerun', 'organizations:read', 'webhooks:read', 'webhooks:rerun'] };
  it('support staff may re-run and nothing else', () => {
    for (const a of Object.keys(actionScopes) as Action[]) {
      const want = a === 'webhook.redeliver' || a === 'webhook.recover' || a === 'integration.rerun';
      expect([a, can(support, a)]).toEqual([a, want]);
    }
  });
  it('wildcards cover their area, "*" everything', () => {
    const organizer = { scopes: ['webhooks:*', 'integrations:*', 'api_keys:write'] };
    expect(can(organizer, 'webhook.rotate_secret')).toBe(true);
    expect(can(organizer, 'integration.change')).toBe(true);
    expect(can(organizer, 'api_key.create')).toBe(true);
    for (const a of Object.keys(actionScopes) as Action[]) expect(can({ scopes: ['*'] }, a)).toBe(true);
  });
  it('a reader sees no button; nothing before whoami answers', () => {
    for (const a of Object.keys(actionScopes) as Action[]) {
      expect(can({ scopes: ['webhooks:read', 'integrations:read'] }, a)).toBe(false);
      expect(can(null, a)).toBe(false);
    }
    expect(can({ scopes: ['api_keys:own'] }, 'api_key.create')).toBe(true);
    expect(holds(['webhooks:*'], 'webhooks:rerun')).toBe(true);
    expect(holds(['webhooks:*'], 'integrations:rerun')).toBe(false);
  });
});

describe('keyChanges: the edit form sends only what changed', () => {
  const k = { name: 'ci', description: null, allowed_ips: ['10.0.0.0/8'], expires_at: '2031-05-01T10:00:30Z' };
  const same = { name: 'ci', description: '', ips: ['10.0.0.0/8'], expires: rfc3339ToLocal(k.expires_at) };
  it('an unchanged form is an empty patch (the expiry compared to the minute)', () => {
    expect(keyChanges(k, same)).toEqual({});
  });
  it('names each changed field', () => {
    const later = rfc3339ToLocal('2031-06-01T10:00:00Z');
    expect(keyChanges(k, { name: ' deploy ', description: 'x', ips: [], expires: later })).toEqual({
      name: 'deploy',
      description: 'x',
      allowed_ips: [],
      expires_at: new Date(later).toISOString(),
    });
    expect(keyChanges({ ...k, expires_at: null }, { ...same, expires: later })).toEqual({ expires_at: new Date(later).toISOString() });
  });
  it('sends scopes only when the set changed', () => {
    const ks = { ...k, scopes: ['webhooks:read', 'events:*'] };
    expect(keyChanges(ks, { ...same, scopes: ['events:*', 'webhooks:read'] })).toEqual({});
    expect(keyChanges(ks, { ...same, scopes: ['webhooks:read'] })).toEqual({ scopes: ['webhooks:read'] });
    // No scopes in the form (not editable): never sent.
    expect(keyChanges(ks, same)).toEqual({});
  });
});

describe('keyScopesEditable: never more than the signed-in credential grants', () => {
  it('offers the scopes when the credential covers every one the key holds', () => {
    expect(keyScopesEditable(['webhooks:read', 'webhooks:write'], ['webhooks:*', 'webhooks:read', 'webhooks:write', 'api_keys:write'])).toEqual({
      editable: true,
      beyond: [],
    });
    expect(keyScopesEditable(['audit_log:read'], ['*'])).toEqual({ editable: true, beyond: [] });
  });
  it('keeps the scopes of a key holding more, naming what is beyond', () => {
    expect(keyScopesEditable(['webhooks:read', 'events:*'], ['webhooks:*', 'webhooks:read', 'api_keys:write'])).toEqual({
      editable: false,
      beyond: ['events:*'],
    });
    expect(keyScopesEditable(['webhooks:read'], [])).toEqual({ editable: false, beyond: ['webhooks:read'] });
  });
});

describe('organizationChoices: the sign-in suggestions for the service token', () => {
  it('lists what the API listed first, then the recent ones, each once', () => {
    expect(organizationChoices(null, ['org_b'])).toEqual(['org_b', 'org_demo']);
    expect(organizationChoices(['org_a', 'org_b'], ['org_b', 'org_c'])).toEqual(['org_a', 'org_b', 'org_c']);
    expect(organizationChoices([], [])).toEqual([]);
  });
});
