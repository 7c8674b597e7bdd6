import { describe, expect, it } from 'vitest';
import {
  changedFields,
  fieldOf,
  formatHeaders,
  groupScopes,
  localToRFC3339,
  neededScope,
  parseHeaders,
  parseIPs,
  parseJSONObject,
  parseLines,
  recoveryPercent,
  recoverySummary,
  rfc3339ToLocal,
  sampleEvent,
  scopeCovered,
  toggleScope,
  validateKey,
} from './logic';
import { href, parseRoute } from './route';

describe('webhook edit form', () => {
  it('reads a JSON object, empty as null, and names what is wrong', () => {
    expect(parseJSONObject('')).toEqual({ ok: true, value: null });
    expect(parseJSONObject(' {"a": [1]} ')).toEqual({ ok: true, value: { a: [1] } });
    const bad = parseJSONObject('{"a":');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/^Not valid JSON/);
    expect(parseJSONObject('[1]')).toEqual({ ok: false, error: 'Must be a JSON object ({…}).' });
    expect(parseJSONObject('null')).toEqual({ ok: false, error: 'Must be a JSON object ({…}).' });
  });
  it('reads lines and headers, round-tripping the headers', () => {
    expect(parseLines(' a \n\n b\n')).toEqual(['a', 'b']);
    expect(parseHeaders('X-Tenant: acme\nX-Two:  b: c ')).toEqual({ ok: true, value: { 'X-Tenant': 'acme', 'X-Two': 'b: c' } });
    expect(parseHeaders('')).toEqual({ ok: true, value: null });
    expect(parseHeaders('X-Ok: 1\nno colon')).toEqual({ ok: false, error: 'Line 2: write "Name: value".' });
    expect(parseHeaders(':x')).toEqual({ ok: false, error: 'Line 1: write "Name: value".' });
    expect(formatHeaders({ A: '1', B: '2' })).toBe('A: 1\nB: 2');
    expect(formatHeaders(null)).toBe('');
  });
  it('sends only the fields that changed', () => {
    const before = { name: 'a', events: ['x'], event_filters: null, custom_headers: { A: '1' } };
    expect(changedFields(before, { name: 'a', events: ['x'], event_filters: null, custom_headers: { A: '1' } })).toEqual({});
    expect(changedFields(before, { name: 'b', events: ['x', 'y'], event_filters: { k: 1 }, custom_headers: null })).toEqual({
      name: 'b',
      events: ['x', 'y'],
      event_filters: { k: 1 },
      custom_headers: null,
    });
    // undefined and null are the same "nothing"
    expect(changedFields({ filter_expression: undefined }, { filter_expression: null })).toEqual({});
  });
  it('builds the sample event from the catalog example', () => {
    expect(JSON.parse(sampleEvent('registration.confirmed', { ticket_type: 'standard' }))).toEqual({
      type: 'registration.confirmed',
      data: { object: { ticket_type: 'standard' } },
    });
    expect(JSON.parse(sampleEvent('x.y', undefined))).toEqual({ type: 'x.y', data: { object: {} } });
  });
  it('maps API error fields to form fields', () => {
    expect(fieldOf('event_filters.min_attendees')).toBe('event_filters');
    expect(fieldOf('custom_headers.X-Bad')).toBe('custom_headers');
    expect(fieldOf(undefined)).toBeUndefined();
  });
});

describe('recovery', () => {
  it('converts local times and back', () => {
    const iso = localToRFC3339('2026-03-04T05:06');
    expect(iso).toMatch(/^2026-03-0\dT\d\d:06:00\.000Z$/);
    expect(rfc3339ToLocal(iso)).toBe('2026-03-04T05:06');
    expect(localToRFC3339('')).toBe('');
    expect(localToRFC3339('nonsense')).toBe('');
  });
  it('summarizes progress', () => {
    const p = { found: 4, started: 4, done: 3, succeeded: 2, failed: 1, finished: false };
    expect(recoverySummary(p)).toBe('In progress: 3 of 4 re-delivered (2 succeeded, 1 failed), 4 started.');
    expect(recoveryPercent(p)).toBe(75);
    const none = { found: 0, started: 0, done: 0, succeeded: 0, failed: 0, finished: true };
    expect(recoverySummary(none)).toBe('Finished: nothing was owed in that window.');
    expect(recoveryPercent(none)).toBe(100);
    expect(recoveryPercent({ ...none, finished: false })).toBe(0);
  });
});

describe('API keys', () => {
  it('groups the grantable scopes by area', () => {
    expect(groupScopes(['*', 'webhooks:*', 'webhooks:read', 'webhooks:write', 'api_keys:write'])).toEqual([
      { area: 'api_keys', scopes: ['api_keys:write'] },
      { area: 'webhooks', wildcard: 'webhooks:*', scopes: ['webhooks:read', 'webhooks:write'] },
    ]);
  });
  it('toggles scopes, a wildcard replacing what it covers', () => {
    expect(toggleScope(['webhooks:read', 'usage:read'], 'webhooks:*')).toEqual(['usage:read', 'webhooks:*']);
    expect(toggleScope(['webhooks:read'], '*')).toEqual(['*']);
    expect(toggleScope(['webhooks:read'], 'webhooks:read')).toEqual([]);
    expect(scopeCovered(['webhooks:*'], 'webhooks:read')).toBe(true);
    expect(scopeCovered(['webhooks:*'], 'webhooks:*')).toBe(false);
    expect(scopeCovered(['webhooks:*'], 'usage:read')).toBe(false);
    expect(scopeCovered(['*'], 'usage:read')).toBe(true);
  });
  it('checks the new-key form at the field', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(validateKey('ci', ['webhooks:read'], ['203.0.113.0/24', '2001:db8::/32', '10.0.0.1'], '2026-02-01T00:00', now)).toEqual({});
    expect(validateKey(' ', [], ['10.0.0.x'], '2025-01-01T00:00', now)).toEqual({
      name: 'Give the key a name.',
      scopes: 'Choose at least one scope.',
      allowed_ips: '"10.0.0.x" is not an IP address or CIDR range (203.0.113.0/24, 2001:db8::/32).',
      expires_at: 'Give a time in the future.',
    });
    expect(parseIPs('10.0.0.1, 10.0.0.2\n::1  ')).toEqual(['10.0.0.1', '10.0.0.2', '::1']);
  });
  it('reads the missing scope from a refusal', () => {
    expect(neededScope('this call needs the api_keys:read or the api_keys:write scope')).toBe('api_keys:read or the api_keys:write');
    expect(neededScope('this call needs the usage:read scope')).toBe('usage:read');
    expect(neededScope('nope')).toBeNull();
  });
});

describe('routes of the new pages', () => {
  it('round-trips', () => {
    for (const r of [
      { page: 'webhook-edit', id: 'wh 1' },
      { page: 'api-keys' },
      { page: 'integrations' },
      { page: 'usage' },
      { page: 'audit' },
    ] as const) {
      expect(parseRoute(href(r))).toEqual(r);
    }
    expect(parseRoute('/console/webhooks/wh_1/edit/')).toEqual({ page: 'webhook-edit', id: 'wh_1' });
  });
});

import { activityError, activitySummary, chartData, detailText, headroomShare, queryString, statusClass, usageRange, type Activity } from './logic';

describe('integrations activity', () => {
  const base: Activity = {
    kind: 'push', id: 'p1', status: 'failed', started_at: '2026-01-01T00:00:00Z', completed_at: null,
    error: null, response: null, retry_of: null, workflow_id: 'wf',
  };
  it('says what a run did in words', () => {
    expect(activitySummary({ ...base, event_type: 'registration.confirmed', action: 'created', external_id: '42', attempts: 3 })).toBe(
      'registration.confirmed · created 42 · 3 attempts',
    );
    expect(activitySummary({ ...base, kind: 'sync', trigger: 'manual', records: { created: 2, failed: 1, updated: 0 } })).toBe('manual · 2 created, 1 failed');
    expect(activitySummary({ ...base, kind: 'sync', records: {}, retry_of: 's0' })).toBe('no records · re-run');
    expect(activitySummary({ ...base, kind: 'token_refresh', trigger: 'expired', rotated: true })).toBe(
      'after the provider refused the token · refresh token rotated',
    );
  });
  it('shows the error message with its code, never raw JSON', () => {
    expect(activityError({ ...base, error: { code: 'unprocessable_entity', message: 'Email address is invalid' } })).toBe(
      'Email address is invalid (unprocessable_entity)',
    );
    expect(activityError({ ...base, error: { code: 'timeout' } })).toBe('timeout');
    // A message that already names its code is not repeated.
    expect(activityError({ ...base, error: { code: 'unprocessable_entity', message: 'kit: unprocessable_entity (HTTP 422): bad' } })).toBe(
      'kit: unprocessable_entity (HTTP 422): bad',
    );
    expect(activityError(base)).toBe('');
    expect(activityError({ ...base, kind: 'sync', records: { failed: 2 }, error: { code: 'sync_failed', message: 'see GET …' } })).toBe(
      '2 records were refused (Details lists each with its error)',
    );
  });
});

describe('usage and logs', () => {
  it('charts the right window per granularity, aligned to the interval', () => {
    const now = Date.parse('2026-01-01T10:30:20Z');
    expect(usageRange('minute', now)).toEqual({ from: '2026-01-01T09:31:00.000Z', to: '2026-01-01T10:31:00.000Z' });
    expect(usageRange('hour', now)).toEqual({ from: '2025-12-31T11:00:00.000Z', to: '2026-01-01T11:00:00.000Z' });
    expect(usageRange('day', now).to).toBe('2026-01-02T00:00:00.000Z');
  });
  it('turns points into chart columns', () => {
    expect(chartData([{ start: '1970-01-01T00:01:00Z', allowed: 3, denied: 1 }])).toEqual([[60], [3], [1]]);
  });
  it('computes the share of the limit and the status class', () => {
    expect(headroomShare(30, 60)).toBe(50);
    expect(headroomShare(90, 60)).toBe(100);
    expect(headroomShare(1, 0)).toBe(0);
    expect([200, 404, 429, 503].map(statusClass)).toEqual(['ok', 'client', 'client', 'server']);
  });
  it('builds query strings from the non-empty values, and detail text', () => {
    expect(queryString({ a: 'x y', b: '', c: undefined, d: null })).toBe('?a=x+y');
    expect(queryString({})).toBe('');
    expect(detailText({ name: 'ci', scopes: ['a', 'b'] })).toBe('name: ci; scopes: ["a","b"]');
  });
});
