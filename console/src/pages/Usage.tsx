import { useEffect, useMemo, useState } from 'preact/hooks';
import { get } from '../api';
import { UsageChart } from '../Chart';
import { ErrorBox, Link, time } from '../components';
import { chartData, headroomShare, queryString, statusClass, usageRange, type Granularity, type UsagePoint } from '../logic';
import { href } from '../route';

interface UsageSeries {
  granularity: Granularity;
  plan: { name: string; per_minute: number; per_hour: number };
  limit_per_interval: number;
  totals: { allowed: number; denied: number };
  data: UsagePoint[];
  keys: {
    api_key_id: string;
    name: string;
    key_prefix: string;
    allowed: number;
    denied: number;
    peak_allowed: number;
    peak_start: string | null;
    headroom: number;
  }[];
}
export interface RequestLog {
  id: string;
  occurred_at: string;
  method: string;
  route: string;
  path: string;
  status: number;
  duration_ms: number;
  auth: string;
  api_key_id: string | null;
  user_id: string | null;
  client_ip: string | null;
  request_id: string | null;
  error_code: string | null;
}
interface RequestLogDetail extends RequestLog {
  request_body: string | null;
  response_body: string | null;
  body_omitted: string | null;
  links: {
    audit_entries: { id: string; action: string }[];
    event_id?: string;
    webhook_id?: string;
    delivery_id?: string;
    integration_id?: string;
    api_key_id?: string;
  };
}

// Usage: allowed and denied requests per minute, hour or day for the
// organization or one key (GET /api/usage/series), headroom against the
// plan, the busiest keys, and the key's API request log beside it.
export function Usage() {
  const params = new URLSearchParams(location.search);
  const [granularity, setGranularity] = useState<Granularity>((params.get('granularity') as Granularity) || 'minute');
  const [keyId, setKeyId] = useState(params.get('key') ?? '');
  const [series, setSeries] = useState<UsageSeries | null>(null);
  const [keys, setKeys] = useState<{ id: string; name: string; key_prefix: string }[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    get<{ data: { id: string; name: string; key_prefix: string }[] }>('/api/api-keys?limit=200').then((r) => setKeys(r.data), () => {});
  }, []);
  useEffect(() => {
    const { from, to } = usageRange(granularity);
    get<UsageSeries>('/api/usage/series' + queryString({ from, to, granularity, api_key_id: keyId, top: '10' })).then(
      (s) => (setSeries(s), setError(null)),
      setError,
    );
    history.replaceState(null, '', href({ page: 'usage' }) + queryString({ granularity, key: keyId }));
  }, [granularity, keyId, tick]);
  const data = useMemo(() => (series ? chartData(series.data) : null), [series]);
  const keyName = (id: string) => keys.find((k) => k.id === id)?.name || id;

  return (
    <main>
      <div class="title-row">
        <h1>Usage</h1>
        <button type="button" class="secondary" onClick={() => setTick(tick + 1)}>
          Refresh
        </button>
      </div>
      <p class="lead">Requests made with API keys, allowed and refused by the rate limit. Counts are written about once a second.</p>
      <div class="filters">
        <div>
          <label for="us-gran">Per</label>
          <select id="us-gran" value={granularity} onChange={(e) => setGranularity(e.currentTarget.value as Granularity)}>
            <option value="minute">minute (last hour)</option>
            <option value="hour">hour (last 24 hours)</option>
            <option value="day">day (last 30 days)</option>
          </select>
        </div>
        <div>
          <label for="us-key">Key</label>
          <select id="us-key" value={keyId} onChange={(e) => setKeyId(e.currentTarget.value)}>
            <option value="">the whole organization</option>
            {keys.map((k) => (
              <option key={k.id} value={k.id}>
                {k.name} ({k.key_prefix}…)
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorBox error={error} />
      {series && data && (
        <>
          <p data-testid="usage-totals">
            <strong>{series.totals.allowed}</strong> allowed, <strong>{series.totals.denied}</strong> denied
            {keyId ? ` with ${keyName(keyId)}` : ' in the organization'}. Plan <strong>{series.plan.name}</strong>:{' '}
            {series.plan.per_minute} a minute and {series.plan.per_hour} an hour per key ({series.limit_per_interval} per{' '}
            {series.granularity}).
          </p>
          <UsageChart
            data={data}
            limit={keyId ? series.limit_per_interval : undefined}
            label={`Allowed and denied requests per ${series.granularity}${keyId ? ' for ' + keyName(keyId) : ''}`}
          />
          <h2>Top keys and headroom</h2>
          {series.keys.length === 0 ? (
            <p>No key made requests in this range.</p>
          ) : (
            <table data-testid="top-keys">
              <thead>
                <tr>
                  <th scope="col">Key</th>
                  <th scope="col">Allowed</th>
                  <th scope="col">Denied</th>
                  <th scope="col">Busiest {series.granularity}</th>
                  <th scope="col">Headroom at the peak</th>
                </tr>
              </thead>
              <tbody>
                {series.keys.map((k) => (
                  <tr key={k.api_key_id}>
                    <td>
                      <a
                        href={href({ page: 'usage' }) + queryString({ granularity, key: k.api_key_id })}
                        onClick={(e) => (e.preventDefault(), setKeyId(k.api_key_id))}
                      >
                        {k.name || '(deleted key)'}
                      </a>{' '}
                      <small class="mono">{k.key_prefix}…</small>
                    </td>
                    <td>{k.allowed}</td>
                    <td>{k.denied}</td>
                    <td>
                      {k.peak_allowed} {k.peak_start ? `at ${time(k.peak_start)}` : ''}
                    </td>
                    <td>
                      {k.headroom} of {series.limit_per_interval} left{' '}
                      <meter min={0} max={100} value={headroomShare(k.peak_allowed, series.limit_per_interval)} aria-label="share of the limit used" />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      <RequestLogTable keyId={keyId} keyName={keyId ? keyName(keyId) : ''} nameOf={keyName} />
    </main>
  );
}

// RequestLogTable: GET /api/request-logs with filters, newest first, and one
// entry's detail with links to what it caused.
export function RequestLogTable(props: { keyId: string; keyName: string; nameOf: (keyId: string) => string }) {
  const [status, setStatus] = useState('');
  const [path, setPath] = useState('');
  const [method, setMethod] = useState('');
  const [rows, setRows] = useState<RequestLog[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [open, setOpen] = useState<RequestLogDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [errs, setErrs] = useState<{ status?: string; path?: string }>({});

  const load = async (cursor?: string) => {
    const v: typeof errs = {};
    if (status && !/^([1-5]\d\d|[1-5]xx)$/.test(status)) v.status = 'An exact status (404) or a class (4xx).';
    if (path && !path.startsWith('/')) v.path = 'A path prefix starting with /, e.g. /api/webhooks.';
    setErrs(v);
    if (Object.keys(v).length) return;
    try {
      const r = await get<{ data: RequestLog[]; next_cursor: string | null }>(
        '/api/request-logs' + queryString({ key_id: props.keyId, status, path, method, limit: '50', cursor }),
      );
      setRows(cursor ? [...(rows ?? []), ...r.data] : r.data);
      setNext(r.next_cursor);
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load();
  }, [props.keyId]);

  return (
    <section aria-label="API request log">
      <h2>API request log{props.keyName ? ` of ${props.keyName}` : ''}</h2>
      <form
        class="filters"
        aria-label="Request log filters"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setOpen(null);
          load();
        }}
      >
        <div>
          <label for="rl-status">Status</label>
          <input id="rl-status" placeholder="4xx" value={status} aria-invalid={!!errs.status} onInput={(e) => setStatus(e.currentTarget.value.trim())} />
          {errs.status && <p class="field-error">{errs.status}</p>}
        </div>
        <div>
          <label for="rl-method">Method</label>
          <select id="rl-method" value={method} onChange={(e) => setMethod(e.currentTarget.value)}>
            <option value="">any</option>
            {['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </div>
        <div>
          <label for="rl-path">Path starts with</label>
          <input id="rl-path" placeholder="/api/webhooks" value={path} aria-invalid={!!errs.path} onInput={(e) => setPath(e.currentTarget.value.trim())} />
          {errs.path && <p class="field-error">{errs.path}</p>}
        </div>
        <div>
          <button type="submit">Filter</button>
        </div>
      </form>
      <ErrorBox error={error} />
      {rows && rows.length === 0 && <p>No calls recorded.</p>}
      {rows && rows.length > 0 && (
        <table data-testid="request-log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Call</th>
              <th scope="col">Status</th>
              <th scope="col">Latency</th>
              <th scope="col">Caller</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                <td>
                  <a
                    href="#"
                    onClick={async (e) => {
                      e.preventDefault();
                      try {
                        setOpen(await get<RequestLogDetail>(`/api/request-logs/${encodeURIComponent(r.id)}`));
                      } catch (x) {
                        setError(x);
                      }
                    }}
                  >
                    {time(r.occurred_at)}
                  </a>
                </td>
                <td class="mono">
                  {r.method} {r.path}
                </td>
                <td>
                  <span class={`badge badge-${statusClass(r.status) === 'ok' ? 'success' : 'failed'}`}>{r.status}</span>
                </td>
                <td>{r.duration_ms.toFixed(1)} ms</td>
                <td>{r.api_key_id ? `key ${props.nameOf(r.api_key_id)}` : r.user_id ? `user ${r.user_id}` : r.auth.replace('_', ' ')}</td>
                <td>{r.error_code ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" class="secondary" onClick={() => load(next)}>
          Older calls
        </button>
      )}
      {open && <RequestDetail d={open} onClose={() => setOpen(null)} />}
    </section>
  );
}

function RequestDetail(props: { d: RequestLogDetail; onClose: () => void }) {
  const d = props.d;
  const l = d.links;
  return (
    <section class="card" aria-label="Logged call" data-testid="request-detail">
      <div class="title-row">
        <h3 style="margin:0">
          {d.method} {d.path} → {d.status}
        </h3>
        <button type="button" class="secondary" onClick={props.onClose}>
          Close
        </button>
      </div>
      <dl class="kv">
        <dt>Route</dt>
        <dd class="mono">{d.route}</dd>
        <dt>When</dt>
        <dd>{time(d.occurred_at)}</dd>
        <dt>Latency</dt>
        <dd>{d.duration_ms.toFixed(1)} ms</dd>
        <dt>Request id</dt>
        <dd class="mono">{d.request_id ?? '—'}</dd>
        <dt>Client</dt>
        <dd>{d.client_ip ?? '—'}</dd>
        {d.error_code && (
          <>
            <dt>Error</dt>
            <dd class="error-text">{d.error_code}</dd>
          </>
        )}
      </dl>
      {(l.audit_entries.length > 0 || l.delivery_id || l.webhook_id || l.event_id || l.integration_id || l.api_key_id) && (
        <>
          <h4>What it caused</h4>
          <ul data-testid="request-links">
            {l.audit_entries.map((a) => (
              <li key={a.id}>
                audit entry{' '}
                <Link href={href({ page: 'audit' }) + queryString({ action: a.action, highlight: a.id })}>{a.action}</Link>
              </li>
            ))}
            {l.webhook_id && l.delivery_id && (
              <li>
                delivery <Link href={href({ page: 'delivery', id: l.webhook_id, deliveryId: l.delivery_id })}>{l.delivery_id}</Link>
              </li>
            )}
            {l.webhook_id && !l.delivery_id && (
              <li>
                webhook <Link href={href({ page: 'webhook', id: l.webhook_id })}>{l.webhook_id}</Link>
              </li>
            )}
            {l.integration_id && (
              <li>
                integration <Link href={href({ page: 'integrations' })}>{l.integration_id}</Link>
              </li>
            )}
            {l.event_id && (
              <li>
                event <code>{l.event_id}</code>
              </li>
            )}
            {l.api_key_id && (
              <li>
                API key <Link href={href({ page: 'api-keys' })}>{l.api_key_id}</Link>
              </li>
            )}
          </ul>
        </>
      )}
      {d.body_omitted ? (
        <p class="small">Bodies not kept: {d.body_omitted.replace('_', ' ')}.</p>
      ) : (
        <>
          <h4>Request body</h4>
          <pre>{d.request_body ?? '(none)'}</pre>
          <h4>Response body</h4>
          <pre>{d.response_body ?? '(none)'}</pre>
        </>
      )}
    </section>
  );
}
