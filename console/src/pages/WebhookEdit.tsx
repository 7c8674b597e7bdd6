import { useEffect, useState } from 'preact/hooks';
import { APIError, get, patch, post } from '../api';
import { ErrorBox, Link, navigate } from '../components';
import { EventPicker } from '../EventPicker';
import { Field, FormActions, bindFields } from '../Field';
import {
  changedFields,
  fieldOf,
  formatHeaders,
  parseHeaders,
  parseJSONObject,
  parseLines,
  sampleEvent,
  validateWebhook,
} from '../logic';
import { href } from '../route';
import type { EventType, FilterPreview, Webhook } from '../types';

type Errs = Record<string, string | undefined>;

// WebhookEdit: every field of an endpoint (PATCH /api/webhooks/{id} with
// only what changed), with a "would this event match?" preview of its
// filters (POST /api/webhooks/filter-preview).
export function WebhookEdit(props: { id: string }) {
  const path = `/api/webhooks/${encodeURIComponent(props.id)}`;
  const [hook, setHook] = useState<Webhook | null>(null);
  const [types, setTypes] = useState<EventType[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [errs, setErrs] = useState<Errs>({});
  const [busy, setBusy] = useState(false);

  const [name, setName] = useState('');
  const [url, setURL] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [filters, setFilters] = useState('');
  const [expr, setExpr] = useState('');
  const [payloadMode, setPayloadMode] = useState<'all' | 'include' | 'exclude'>('all');
  const [paths, setPaths] = useState('');
  const [headers, setHeaders] = useState('');
  const [contentType, setContentType] = useState('application/json');
  const [timeout, setTimeout_] = useState('30');
  const [retries, setRetries] = useState('5');
  const [retryDelay, setRetryDelay] = useState('60');
  const [ordered, setOrdered] = useState(false);
  const [rate, setRate] = useState('');
  const [authType, setAuthType] = useState<'keep' | 'none' | 'basic' | 'bearer' | 'header'>('keep');
  const [auth, setAuth] = useState({ username: '', password: '', token: '', header: '', value: '' });

  useEffect(() => {
    get<Webhook>(path).then((w) => {
      setHook(w);
      setName(w.name);
      setURL(w.url);
      setEvents(w.events);
      setFilters(w.event_filters ? JSON.stringify(w.event_filters, null, 2) : '');
      setExpr(w.filter_expression ?? '');
      if (w.payload_include?.length) {
        setPayloadMode('include');
        setPaths(w.payload_include.join('\n'));
      } else if (w.payload_exclude?.length) {
        setPayloadMode('exclude');
        setPaths(w.payload_exclude.join('\n'));
      }
      setHeaders(formatHeaders(w.custom_headers));
      setContentType(w.content_type ?? 'application/json');
      setTimeout_(String(w.timeout_seconds ?? 30));
      setRetries(String(w.retry_count ?? 5));
      setRetryDelay(String(w.retry_delay_seconds ?? 60));
      setOrdered(!!w.ordered);
      setRate(w.max_deliveries_per_second ? String(w.max_deliveries_per_second) : '');
      setAuthType(w.destination_auth ? 'keep' : 'none');
    }, setError);
    get<{ data: EventType[] }>('/api/event-types').then((r) => setTypes(r.data), setError);
  }, [path]);

  if (!hook) return <main>{error ? <ErrorBox error={error} /> : <p>Loading…</p>}</main>;

  const clear = (f: string) => setErrs({ ...errs, [f]: undefined });
  const bind = bindFields(errs, setErrs);

  // build checks the form and returns the full set of fields, or null.
  const build = (): Record<string, unknown> | null => {
    const e: Errs = { ...validateWebhook(name, url, events) };
    const f = parseJSONObject(filters);
    if (!f.ok) e.event_filters = f.error;
    const h = parseHeaders(headers);
    if (!h.ok) e.custom_headers = h.error;
    const num = (v: string, field: string, min: number, max: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) e[field] = `A whole number from ${min} to ${max}.`;
      return n;
    };
    const out: Record<string, unknown> = {
      name: name.trim(),
      url: url.trim(),
      events,
      event_filters: f.ok ? f.value : null,
      filter_expression: expr.trim() ? expr : null,
      payload_include: payloadMode === 'include' ? parseLines(paths) : null,
      payload_exclude: payloadMode === 'exclude' ? parseLines(paths) : null,
      custom_headers: h.ok ? h.value : null,
      content_type: contentType,
      timeout_seconds: num(timeout, 'timeout_seconds', 1, 60),
      retry_count: num(retries, 'retry_count', 0, 20),
      retry_delay_seconds: num(retryDelay, 'retry_delay_seconds', 1, 86400),
    };
    // Sent only when the server knows them (older servers omit the fields).
    if (hook && 'ordered' in hook) out.ordered = ordered;
    if (hook && 'max_deliveries_per_second' in hook) out.max_deliveries_per_second = rate.trim() ? num(rate, 'max_deliveries_per_second', 1, 1000) : null;
    if (payloadMode !== 'all' && parseLines(paths).length === 0) e.payload = 'List at least one dot-path, or send the whole payload.';
    if (authType === 'none') out.destination_auth = null;
    if (authType === 'basic') {
      if (!auth.username) e.auth_username = 'Give the user name.';
      out.destination_auth = { type: 'basic', username: auth.username, password: auth.password };
    }
    if (authType === 'bearer') {
      if (!auth.token) e.auth_token = 'Give the token.';
      out.destination_auth = { type: 'bearer', token: auth.token };
    }
    if (authType === 'header') {
      if (!auth.header) e.auth_header = 'Give the header name.';
      if (!auth.value) e.auth_value = 'Give the header value.';
      out.destination_auth = { type: 'header', header: auth.header, value: auth.value };
    }
    const shown = Object.fromEntries(Object.entries(e).filter(([, v]) => v));
    setErrs(shown);
    return Object.keys(shown).length ? null : out;
  };

  const before: Record<string, unknown> = {
    name: hook.name,
    url: hook.url,
    events: hook.events,
    event_filters: hook.event_filters ?? null,
    filter_expression: hook.filter_expression ?? null,
    payload_include: hook.payload_include?.length ? hook.payload_include : null,
    payload_exclude: hook.payload_exclude?.length ? hook.payload_exclude : null,
    custom_headers: hook.custom_headers && Object.keys(hook.custom_headers).length ? hook.custom_headers : null,
    content_type: hook.content_type,
    timeout_seconds: hook.timeout_seconds,
    retry_count: hook.retry_count,
    retry_delay_seconds: hook.retry_delay_seconds,
    ordered: hook.ordered ?? false,
    max_deliveries_per_second: hook.max_deliveries_per_second ?? null,
    destination_auth: hook.destination_auth ? 'keep' : null,
  };

  return (
    <main>
      <p class="crumbs">
        <Link href={href({ page: 'webhooks' })}>Webhooks</Link> /{' '}
        <Link href={href({ page: 'webhook', id: hook.id })}>{hook.name}</Link> / edit
      </p>
      <h1>Edit {hook.name}</h1>
      <form
        class="card"
        aria-label="Edit endpoint"
        noValidate
        onSubmit={async (ev) => {
          ev.preventDefault();
          const next = build();
          if (!next) return;
          const body = changedFields(before, next);
          if (Object.keys(body).length === 0) {
            navigate(href({ page: 'webhook', id: hook.id }));
            return;
          }
          setBusy(true);
          setError(null);
          try {
            await patch<Webhook>(path, body);
            navigate(href({ page: 'webhook', id: hook.id }));
          } catch (err) {
            const f = err instanceof APIError ? fieldOf(err.field) : undefined;
            const field = f === 'destination_auth' ? 'auth' : f === 'payload_include' || f === 'payload_exclude' ? 'payload' : f;
            if (field && err instanceof APIError) setErrs({ [field]: `${err.message} (${err.field})` });
            else setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <Field id="wh-name" label="Name" {...bind('name', name, setName)} />
        <Field id="wh-url" label="URL" type="url" {...bind('url', url, setURL)} />
        <EventPicker types={types} selected={events} onChange={(n) => (setEvents(n), clear('events'))} error={errs.events} />

        <h2>Filters</h2>
        <p class="lead">Only events passing both are delivered. Leave a box empty for no filter.</p>
        <Field
          as="textarea"
          id="wh-filters"
          label="Event filters (JSON)"
          hint={
            <>
              Keys are dot-paths into <code>data.object</code>; a list means any of; <code>min_</code>/<code>max_</code> are
              inclusive bounds.
            </>
          }
          rows={4}
          class="mono"
          placeholder='{"event_type": ["conference"], "min_attendees": 10}'
          {...bind('event_filters', filters, setFilters)}
        />
        <Field
          as="textarea"
          id="wh-expr"
          label="Filter expression (CEL)"
          rows={2}
          class="mono"
          placeholder='data.object.location_type == "virtual"'
          {...bind('filter_expression', expr, setExpr)}
        />
        <Preview
          types={types}
          events={events}
          filters={filters}
          expr={expr}
          onFieldError={(f, m) => setErrs({ ...errs, [f]: m })}
        />

        <h2>Payload</h2>
        <fieldset>
          <legend>What is sent under data</legend>
          {(['all', 'include', 'exclude'] as const).map((m) => (
            <label class="check" key={m}>
              <input type="radio" name="payload" checked={payloadMode === m} onChange={() => (setPayloadMode(m), clear('payload'))} />{' '}
              {m === 'all' ? 'the whole event' : m === 'include' ? 'only these paths' : 'everything except these paths'}
            </label>
          ))}
        </fieldset>
        {payloadMode !== 'all' ? (
          <Field as="textarea" id="wh-paths" label="Dot-paths, one a line" rows={3} class="mono" placeholder="data.object.user_email" {...bind('payload', paths, setPaths)} />
        ) : (
          errs.payload && <p class="field-error">{errs.payload}</p>
        )}
        <Field
          as="textarea"
          id="wh-headers"
          label='Custom headers, one "Name: value" a line'
          rows={2}
          class="mono"
          placeholder="X-Tenant: acme"
          {...bind('custom_headers', headers, setHeaders)}
        />
        <div class="grid4">
          <div>
            <Field as="select" id="wh-ct" label="Content type" value={contentType} onChange={(e) => setContentType(e.currentTarget.value)}>
              <option value="application/json">application/json</option>
              <option value="application/x-www-form-urlencoded">application/x-www-form-urlencoded</option>
            </Field>
          </div>
          <Num id="timeout_seconds" label="Timeout (s)" value={timeout} set={setTimeout_} errs={errs} clear={clear} />
          <Num id="retry_count" label="Retries" value={retries} set={setRetries} errs={errs} clear={clear} />
          <Num id="retry_delay_seconds" label="First retry after (s)" value={retryDelay} set={setRetryDelay} errs={errs} clear={clear} />
          {'max_deliveries_per_second' in hook && (
            <Num id="max_deliveries_per_second" label="At most per second (empty: no limit)" value={rate} set={setRate} errs={errs} clear={clear} />
          )}
        </div>
        {'ordered' in hook && (
          <label class="check">
            <input type="checkbox" checked={ordered} onChange={() => setOrdered(!ordered)} /> Ordered delivery (one request in flight;
            the next message waits until the previous one is delivered or failed for good)
          </label>
        )}

        <h2>Destination authentication</h2>
        <Field
          as="select"
          id="wh-auth"
          label="Credential sent to the endpoint"
          hint="Stored encrypted; the console shows only its type and fingerprint afterwards."
          value={authType}
          onChange={(e) => (setAuthType(e.currentTarget.value as typeof authType), clear('auth'))}
        >
          {hook.destination_auth && <option value="keep">keep the current one ({hook.destination_auth})</option>}
          <option value="none">none</option>
          <option value="basic">HTTP Basic</option>
          <option value="bearer">bearer token</option>
          <option value="header">a custom header</option>
        </Field>
        {authType === 'basic' && (
          <div class="grid4">
            <AuthField id="username" label="User name" auth={auth} setAuth={setAuth} errs={errs} clear={clear} />
            <AuthField id="password" label="Password" secret auth={auth} setAuth={setAuth} errs={errs} clear={clear} />
          </div>
        )}
        {authType === 'bearer' && <AuthField id="token" label="Token" secret auth={auth} setAuth={setAuth} errs={errs} clear={clear} />}
        {authType === 'header' && (
          <div class="grid4">
            <AuthField id="header" label="Header name" auth={auth} setAuth={setAuth} errs={errs} clear={clear} />
            <AuthField id="value" label="Header value" secret auth={auth} setAuth={setAuth} errs={errs} clear={clear} />
          </div>
        )}
        {errs.auth && <p class="field-error">{errs.auth}</p>}

        <FormActions
          error={error}
          busy={busy}
          submit={busy ? 'Saving…' : 'Save changes'}
          onCancel={() => navigate(href({ page: 'webhook', id: hook.id }))}
        />
      </form>
    </main>
  );
}

function Num(props: { id: string; label: string; value: string; set: (v: string) => void; errs: Errs; clear: (f: string) => void }) {
  return (
    <div>
      <Field
        id={`wh-${props.id}`}
        label={props.label}
        error={props.errs[props.id]}
        inputMode="numeric"
        value={props.value}
        onInput={(e) => (props.set(e.currentTarget.value), props.clear(props.id))}
      />
    </div>
  );
}

type Auth = { username: string; password: string; token: string; header: string; value: string };
function AuthField(props: {
  id: keyof Auth;
  label: string;
  secret?: boolean;
  auth: Auth;
  setAuth: (a: Auth) => void;
  errs: Errs;
  clear: (f: string) => void;
}) {
  const f = `auth_${props.id}`;
  return (
    <div>
      <Field
        id={`wh-${f}`}
        label={props.label}
        error={props.errs[f]}
        type={props.secret ? 'password' : 'text'}
        autocomplete="off"
        value={props.auth[props.id]}
        onInput={(e) => (props.setAuth({ ...props.auth, [props.id]: e.currentTarget.value }), props.clear(f))}
      />
    </div>
  );
}

// Preview asks the API whether a sample event passes the filters as typed
// (not yet saved).
function Preview(props: {
  types: EventType[];
  events: string[];
  filters: string;
  expr: string;
  onFieldError: (field: string, message: string) => void;
}) {
  const domain = props.types.filter((t) => !t.operational);
  const [type, setType] = useState('');
  const [sample, setSample] = useState('');
  const [result, setResult] = useState<FilterPreview | null>(null);
  const [sampleErr, setSampleErr] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (type || domain.length === 0) return;
    const first = domain.find((t) => props.events.some((e) => e === t.name || e === '*' || e === t.name.split('.')[0] + '.*')) ?? domain[0];
    setType(first.name);
    setSample(sampleEvent(first.name, first.example));
  }, [domain.length]);

  return (
    <section class="preview" aria-label="Would this event match?">
      <h3>Would this event match?</h3>
      <Field
        as="select"
        id="pv-type"
        label="Sample event type"
        value={type}
        onChange={(e) => {
          const t = domain.find((d) => d.name === e.currentTarget.value);
          setType(e.currentTarget.value);
          setSample(sampleEvent(e.currentTarget.value, t?.example));
          setResult(null);
        }}
      >
        {domain.map((t) => (
          <option key={t.name} value={t.name}>
            {t.name}
          </option>
        ))}
      </Field>
      <Field
        as="textarea"
        id="pv-sample"
        label="Sample event (edit it to try values)"
        error={sampleErr}
        rows={8}
        class="mono"
        value={sample}
        onInput={(e) => {
          setSample(e.currentTarget.value);
          setSampleErr('');
          setResult(null);
        }}
      />
      <button
        type="button"
        class="secondary"
        disabled={busy}
        onClick={async () => {
          setError(null);
          setResult(null);
          const ev = parseJSONObject(sample);
          if (!ev.ok || !ev.value) return setSampleErr(ev.ok ? 'Give a sample event.' : ev.error);
          const f = parseJSONObject(props.filters);
          if (!f.ok) return props.onFieldError('event_filters', f.error);
          setBusy(true);
          try {
            setResult(
              await post<FilterPreview>('/api/webhooks/filter-preview', {
                event: ev.value,
                event_filters: f.value,
                filter_expression: props.expr.trim() ? props.expr : null,
              }),
            );
          } catch (err) {
            const field = err instanceof APIError ? fieldOf(err.field) : undefined;
            if (err instanceof APIError && field === 'event') setSampleErr(`${err.message} (${err.field})`);
            else if (err instanceof APIError && (field === 'event_filters' || field === 'filter_expression'))
              props.onFieldError(field, `${err.message} (${err.field})`);
            else setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        Check the sample
      </button>
      <ErrorBox error={error} />
      {result && (
        <div class={`verdict ${result.matches ? 'match' : 'nomatch'}`} role="status" data-testid="preview-result">
          <strong>{result.matches ? 'Match: this event would be delivered.' : 'No match: this event would not be delivered.'}</strong>
          <ul>
            <li>
              event filters:{' '}
              {result.event_filters === null ? 'none (pass)' : result.event_filters.matches ? 'match' : 'no match'}
            </li>
            <li>
              filter expression:{' '}
              {result.filter_expression === null
                ? 'none (pass)'
                : result.filter_expression.matches
                  ? 'match'
                  : `no match${result.filter_expression.error ? ` (${result.filter_expression.error})` : ''}`}
            </li>
            {!props.events.some((e) => e === type || e === '*' || e === type.split('.')[0] + '.*') && (
              <li>note: the endpoint is not subscribed to {type}</li>
            )}
          </ul>
        </div>
      )}
    </section>
  );
}
