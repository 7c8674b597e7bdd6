import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import { ErrorBox, StatusBadge, time } from '../components';
import { detailText, localToRFC3339, queryString } from '../logic';
import { href } from '../route';

interface AuditEntry {
  id: string;
  occurred_at: string;
  action: string;
  outcome: 'success' | 'failure';
  actor_type: string;
  actor_id: string | null;
  target_type: string | null;
  target_id: string | null;
  source_ip: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

const fields = ['action', 'actor_id', 'target_id', 'outcome', 'from', 'to'] as const;
type Filters = Record<(typeof fields)[number], string>;

// Audit: GET /api/audit-log as a filterable table (filters kept in the
// URL, so a filtered view can be linked to).
export function Audit() {
  const q = new URLSearchParams(location.search);
  const [f, setF] = useState<Filters>(Object.fromEntries(fields.map((k) => [k, q.get(k) ?? ''])) as Filters);
  const highlight = q.get('highlight') ?? '';
  const [rows, setRows] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [errs, setErrs] = useState<Partial<Filters>>({});

  const load = async (cursor?: string) => {
    const v: Partial<Filters> = {};
    const from = f.from ? localToRFC3339(f.from) : '';
    const to = f.to ? localToRFC3339(f.to) : '';
    if (f.from && !from) v.from = 'Give a date and time.';
    if (f.to && !to) v.to = 'Give a date and time.';
    if (from && to && from >= to) v.to = 'Must be after "from".';
    setErrs(v);
    if (Object.keys(v).length) return;
    try {
      const filters = { action: f.action, actor_id: f.actor_id, target_id: f.target_id, outcome: f.outcome, from, to };
      const r = await get<{ data: AuditEntry[]; next_cursor: string | null }>('/api/audit-log' + queryString({ ...filters, limit: '50', cursor }));
      setRows(cursor ? [...(rows ?? []), ...r.data] : r.data);
      setNext(r.next_cursor);
      setError(null);
      if (!cursor) history.replaceState(null, '', href({ page: 'audit' }) + queryString({ ...f, highlight }));
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load();
  }, []);
  const input = (k: keyof Filters, label: string, placeholder = '', type = 'text') => (
    <div>
      <label for={`au-${k}`}>{label}</label>
      <input
        id={`au-${k}`}
        type={type}
        placeholder={placeholder}
        value={f[k]}
        aria-invalid={!!errs[k]}
        onInput={(e) => (setF({ ...f, [k]: e.currentTarget.value }), setErrs({ ...errs, [k]: undefined }))}
      />
      {errs[k] && <p class="field-error">{errs[k]}</p>}
    </div>
  );

  return (
    <main>
      <h1>Audit log</h1>
      <p class="lead">Security-relevant changes in this organization, newest first: who did what, from where, with which request.</p>
      <form
        class="filters"
        aria-label="Audit filters"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          load();
        }}
      >
        {input('action', 'Action', 'api_key.created')}
        {input('actor_id', 'Actor id')}
        {input('target_id', 'Target id')}
        <div>
          <label for="au-outcome">Outcome</label>
          <select id="au-outcome" value={f.outcome} onChange={(e) => setF({ ...f, outcome: e.currentTarget.value })}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
          </select>
        </div>
        {input('from', 'From', '', 'datetime-local')}
        {input('to', 'To', '', 'datetime-local')}
        <div>
          <button type="submit">Filter</button>
        </div>
      </form>
      <ErrorBox error={error} />
      {rows && rows.length === 0 && <p>No entries match.</p>}
      {rows && rows.length > 0 && (
        <table data-testid="audit">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Outcome</th>
              <th scope="col">Actor</th>
              <th scope="col">Target</th>
              <th scope="col">From</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} class={r.id === highlight ? 'fresh highlight' : ''} data-entry-id={r.id}>
                <td>{time(r.occurred_at)}</td>
                <td class="mono">{r.action}</td>
                <td>
                  <StatusBadge status={r.outcome === 'success' ? 'success' : 'failed'} />
                </td>
                <td>
                  {r.actor_type.replace('_', ' ')} {r.actor_id && <code>{r.actor_id}</code>}
                </td>
                <td>
                  {r.target_type} {r.target_id && <code>{r.target_id}</code>}
                </td>
                <td>
                  {r.source_ip ?? '—'}
                  {r.request_id && (
                    <>
                      <br />
                      <small class="mono">{r.request_id}</small>
                    </>
                  )}
                </td>
                <td>{detailText(r.details)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" class="secondary" onClick={() => load(next)}>
          Older entries
        </button>
      )}
    </main>
  );
}
