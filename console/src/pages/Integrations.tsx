import { useEffect, useState } from 'preact/hooks';
import { APIError, del, get, patch, post } from '../api';
import { ErrorBox, StatusBadge, time, useWhoami } from '../components';
import { Field, FieldNotes, FormActions } from '../Field';
import { activityError, activitySummary, can, fieldOf, type Activity } from '../logic';
import { buildSettings, settingFieldOf, settingFields, settingValues, type SettingField, type SettingValue } from '../settings';

interface Provider {
  type: string;
  display_name: string;
  auth_mode: 'oauth2' | 'api_key' | 'webhook_url' | 'basic';
  available: boolean;
  configured: boolean;
  oauth_configured?: boolean;
  syncs?: boolean;
  pushes?: string[];
  credential_fields?: { name: string; description: string; required: boolean; secret: boolean }[];
  settings_schema?: Record<string, any>;
}
interface Integration {
  id: string;
  integration_type: string;
  name: string;
  status: 'active' | 'error' | 'disabled';
  user_id?: string | null;
  has_credentials: boolean;
  token_expires_at?: string | null;
  connected_at?: string | null;
  last_sync_at?: string | null;
  last_error_message?: string | null;
  sync_enabled: boolean;
  settings?: Record<string, unknown> | null;
}
interface SyncDetail {
  id: string;
  status: string;
  error_details: { object_type?: string; object_id?: string; code?: string; message?: string }[];
  temporal_url?: string;
}

// Integrations: every integration with its status and its pushes, syncs
// and token refreshes (GET /api/integrations/{id}/activity), re-run a
// failed one, sync now, reconnect, disconnect; each run links to Temporal.
export function Integrations() {
  const [list, setList] = useState<Integration[] | null>(null);
  const [providers, setProviders] = useState<Provider[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [connecting, setConnecting] = useState<{ provider: Provider; name?: string } | null>(null);
  const me = useWhoami();

  const load = async () => {
    try {
      const r = await get<{ data: Integration[] }>('/api/integrations');
      setList(r.data);
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load();
    get<{ data: Provider[] }>('/api/integrations/providers').then((r) => setProviders(r.data), () => {});
  }, []);
  const connectable = can(me, 'integration.change') ? providers.filter((p) => p.available && p.configured) : [];

  return (
    <main>
      <div class="title-row">
        <h1>Integrations</h1>
        {connectable.length > 0 && !connecting && (
          <div class="row">
            <label for="connect-type" class="sr">
              Connect
            </label>
            <select
              id="connect-type"
              aria-label="Provider to connect"
              value=""
              onChange={(e) => {
                const p = providers.find((x) => x.type === e.currentTarget.value);
                if (p) setConnecting({ provider: p });
              }}
            >
              <option value="">Connect a provider…</option>
              {connectable.map((p) => (
                <option key={p.type} value={p.type}>
                  {p.display_name}
                </option>
              ))}
            </select>
          </div>
        )}
      </div>
      <p class="lead">
        Every connected provider, what Aqio pushed to it and synced from it. A failed run can be re-run here; each run links
        to its workflow in the Temporal UI.
      </p>
      {connecting && (
        <Connect
          provider={connecting.provider}
          name={connecting.name}
          onCancel={() => setConnecting(null)}
          onConnected={() => {
            setConnecting(null);
            load();
          }}
        />
      )}
      <ErrorBox error={error} />
      {list && list.length === 0 && <p>No integrations yet.</p>}
      {list?.map((i) => (
        <IntegrationCard
          key={i.id}
          i={i}
          provider={providers.find((p) => p.type === i.integration_type)}
          onChanged={load}
          onReconnect={(p) => setConnecting({ provider: p, name: i.name })}
        />
      ))}
    </main>
  );
}

function Connect(props: { provider: Provider; name?: string; onCancel: () => void; onConnected: () => void }) {
  const p = props.provider;
  const [name, setName] = useState(props.name ?? p.display_name);
  const [creds, setCreds] = useState<Record<string, string>>({});
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const fields = p.credential_fields ?? [];
  // OAuth providers that also take a credential (Kit's API key) offer both.
  const canOAuth = p.auth_mode === 'oauth2' && !!p.oauth_configured;
  const [oauth, setOAuth] = useState(fields.length === 0);
  return (
    <form
      class="card"
      aria-label={`Connect ${p.display_name}`}
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        if (oauth) {
          setBusy(true);
          try {
            const r = await post<{ authorization_url: string }>(`/api/integrations/${encodeURIComponent(p.type)}/authorize`, {
              name,
              return_url: location.origin + '/console/integrations',
            });
            location.assign(r.authorization_url);
          } catch (x) {
            setError(x);
            setBusy(false);
          }
          return;
        }
        const v: Record<string, string> = {};
        for (const f of fields) if (f.required && !creds[f.name]?.trim()) v[`credentials.${f.name}`] = `Give the ${f.name.replace(/_/g, ' ')}.`;
        setErrs(v);
        if (Object.keys(v).length) return;
        setBusy(true);
        try {
          await post(`/api/integrations/${encodeURIComponent(p.type)}/connect`, { name, credentials: creds });
          props.onConnected();
        } catch (x) {
          if (x instanceof APIError && x.field) setErrs({ [x.field.startsWith('credentials.') ? x.field : fieldOf(x.field) ?? 'form']: x.message });
          else setError(x);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>
        {props.name ? 'Reconnect' : 'Connect'} {p.display_name}
      </h2>
      {props.name && <p class="lead">Connecting again replaces the stored credential of this integration.</p>}
      <Field id="in-name" label="Name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      {oauth ? (
        <p>You will be sent to {p.display_name} to grant access, then back here.</p>
      ) : (
        fields.map((f) => (
          <div key={f.name}>
            <Field
              id={`cred-${f.name}`}
              label={f.name.replace(/_/g, ' ')}
              hint={f.description}
              error={errs[`credentials.${f.name}`]}
              type={f.secret ? 'password' : 'text'}
              autocomplete="off"
              value={creds[f.name] ?? ''}
              onInput={(e) => {
                setCreds({ ...creds, [f.name]: e.currentTarget.value });
                setErrs({ ...errs, [`credentials.${f.name}`]: '' });
              }}
            />
          </div>
        ))
      )}
      {Object.entries(errs)
        .filter(([k, v]) => v && !k.startsWith('credentials.'))
        .map(([k, v]) => (
          <p class="field-error" key={k}>
            {v} ({k})
          </p>
        ))}
      <FormActions error={error} busy={busy} submit={oauth ? `Continue to ${p.display_name}` : 'Connect'} onCancel={props.onCancel}>
        {fields.length > 0 && canOAuth && (
          <button type="button" class="secondary" onClick={() => setOAuth(!oauth)}>
            {oauth ? 'Use a credential instead' : `Sign in with ${p.display_name} instead`}
          </button>
        )}
      </FormActions>
    </form>
  );
}

function IntegrationCard(props: { i: Integration; provider?: Provider; onChanged: () => void; onReconnect: (p: Provider) => void }) {
  const { i, provider } = props;
  const base = `/api/integrations/${encodeURIComponent(i.id)}`;
  const [activity, setActivity] = useState<Activity[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const [sync, setSync] = useState<SyncDetail | null>(null);
  const [editing, setEditing] = useState(false);
  const me = useWhoami();
  const mayChange = can(me, 'integration.change');

  const load = async () => {
    try {
      const r = await get<{ data: Activity[] }>(`${base}/activity`);
      setActivity(r.data);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const tick = async () => {
      await load();
      if (!stopped) timer = window.setTimeout(tick, 3000);
    };
    tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [i.id]);

  const act = async (what: string, f: () => Promise<unknown>) => {
    setError(null);
    setNotice('');
    try {
      await f();
      setNotice(what);
      await load();
      props.onChanged();
    } catch (e) {
      setError(e);
    }
  };
  const lastRefresh = activity?.find((a) => a.kind === 'token_refresh');

  return (
    <section class="card" aria-label={`Integration ${i.name}`} data-testid="integration">
      <div class="title-row">
        <h2 style="margin-top:0">
          {i.name} {i.name !== (provider?.display_name ?? i.integration_type) && <small>({provider?.display_name ?? i.integration_type})</small>}{' '}
          <StatusBadge status={i.status} />
        </h2>
        <div class="row">
          {mayChange && provider?.syncs && (
            <button type="button" class="secondary" onClick={() => act('Sync started.', () => post(`${base}/sync`, {}))}>
              Sync now
            </button>
          )}
          {mayChange && provider?.auth_mode === 'oauth2' && i.token_expires_at && (
            <button type="button" class="secondary" onClick={() => act('Token refresh requested.', () => post(`${base}/refresh`))}>
              Refresh token
            </button>
          )}
          {mayChange && provider && (
            <button
              type="button"
              class="secondary"
              aria-expanded={editing}
              aria-label={`Settings of ${i.name}`}
              onClick={() => setEditing(!editing)}
            >
              Settings
            </button>
          )}
          {mayChange && provider && (
            <button type="button" class="secondary" onClick={() => props.onReconnect(provider)}>
              Reconnect
            </button>
          )}
          {mayChange && (
            <button
              type="button"
              class="secondary"
              onClick={() => {
                if (!confirm(`Disconnect ${i.name}? Its credential is revoked at the provider where possible and deleted here.`)) return;
                act('Disconnected.', () => del(base));
              }}
            >
              Disconnect
            </button>
          )}
        </div>
      </div>
      <dl class="kv">
        <dt>Connected</dt>
        <dd>{time(i.connected_at)}</dd>
        <dt>Last refresh</dt>
        <dd>
          {lastRefresh ? `${time(lastRefresh.started_at)} (${lastRefresh.status})` : 'none'}
          {i.token_expires_at ? `; token valid until ${time(i.token_expires_at)}` : provider?.auth_mode !== 'oauth2' ? '; credential does not expire' : ''}
        </dd>
        <dt>Last sync</dt>
        <dd>{time(i.last_sync_at)}</dd>
        {i.last_error_message && (
          <>
            <dt>Last error</dt>
            <dd class="error-text">{i.last_error_message}</dd>
          </>
        )}
      </dl>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <ErrorBox error={error} />
      {editing && mayChange && provider && (
        <SettingsForm
          i={i}
          provider={provider}
          onCancel={() => setEditing(false)}
          onSaved={() => {
            setEditing(false);
            setNotice('Settings saved.');
            props.onChanged();
          }}
        />
      )}
      <h3>Pushes, syncs and token refreshes</h3>
      {activity && activity.length === 0 && <p>Nothing yet.</p>}
      {activity && activity.length > 0 && (
        <table data-testid="activity">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col">What</th>
              <th scope="col">Error</th>
              <th scope="col">Run</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {activity.map((a) => (
              <>
                <tr key={a.id} data-activity-id={a.id}>
                  <td>{time(a.started_at)}</td>
                  <td>{a.kind.replace('_', ' ')}</td>
                  <td>
                    <StatusBadge status={a.status} />
                  </td>
                  <td>{activitySummary(a)}</td>
                  <td class="error-text">{activityError(a)}</td>
                  <td>
                    {a.temporal_url ? (
                      <a href={a.temporal_url} aria-label={`Temporal run of ${a.kind} ${a.id}`}>
                        Temporal
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>
                    <div class="row">
                      {(a.response || a.kind === 'sync') && (
                        <button
                          type="button"
                          class="secondary"
                          aria-expanded={open === a.id}
                          onClick={async () => {
                            if (open === a.id) return setOpen(null);
                            setOpen(a.id);
                            setSync(null);
                            if (a.kind === 'sync') get<SyncDetail>(`${base}/syncs/${encodeURIComponent(a.id)}`).then(setSync, setError);
                          }}
                        >
                          Details
                        </button>
                      )}
                      {a.status === 'failed' && (a.kind === 'push' || a.kind === 'sync') && can(me, 'integration.rerun') && (
                        <button
                          type="button"
                          aria-label={`Re-run ${a.kind} ${a.id}`}
                          onClick={() =>
                            act(
                              `Re-run of the ${a.kind} started.`,
                              () => post(`${base}/${a.kind === 'push' ? 'pushes' : 'syncs'}/${encodeURIComponent(a.id)}/retry`),
                            )
                          }
                        >
                          Re-run
                        </button>
                      )}
                    </div>
                  </td>
                </tr>
                {open === a.id && (
                  <tr key={a.id + '-details'}>
                    <td colSpan={7}>
                      {a.response && a.kind !== 'sync' && (
                        <dl class="kv">
                          <dt>Provider request</dt>
                          <dd class="mono">{a.response.request}</dd>
                          <dt>Answer</dt>
                          <dd>
                            HTTP {a.response.status}: <code>{a.response.excerpt}</code>
                          </dd>
                        </dl>
                      )}
                      {a.retry_of && <p class="small">Re-run of {a.retry_of}.</p>}
                      {a.kind === 'sync' && sync && (
                        <>
                          <h4>Per-record errors</h4>
                          {sync.error_details.length === 0 ? (
                            <p>None.</p>
                          ) : (
                            <table aria-label="Per-record errors">
                              <thead>
                                <tr>
                                  <th scope="col">Record</th>
                                  <th scope="col">Code</th>
                                  <th scope="col">Message</th>
                                </tr>
                              </thead>
                              <tbody>
                                {sync.error_details.map((d, n) => (
                                  <tr key={n}>
                                    <td>
                                      {d.object_type} <code>{d.object_id}</code>
                                    </td>
                                    <td>{d.code}</td>
                                    <td>{d.message}</td>
                                  </tr>
                                ))}
                              </tbody>
                            </table>
                          )}
                        </>
                      )}
                    </td>
                  </tr>
                )}
              </>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

// SettingsForm edits an integration's settings from its provider's
// settings_schema and saves them with PATCH /api/integrations/{id}
// (only when something changed); a setting the API or the provider refuses
// is named at its field.
function SettingsForm(props: { i: Integration; provider: Provider; onCancel: () => void; onSaved: () => void }) {
  const { i, provider } = props;
  const fields = settingFields(provider.settings_schema);
  const [initial] = useState(() => settingValues(fields, i.settings));
  const [values, setValues] = useState<Record<string, SettingValue>>(initial);
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [unchanged, setUnchanged] = useState(false);
  const set = (f: SettingField, v: SettingValue) => {
    setValues({ ...values, [f.key]: v });
    setErrs({ ...errs, [f.key]: '' });
    setUnchanged(false);
  };
  const id = (f: SettingField) => `set-${i.id}-${f.key.replace(/[^A-Za-z0-9_-]/g, '-') || 'all'}`;
  return (
    <form
      class="card"
      aria-label={`Settings of ${i.name}`}
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        setFormError(null);
        const { settings, errors } = buildSettings(fields, i.settings, initial, values);
        setErrs(errors);
        if (Object.keys(errors).length) return;
        if (JSON.stringify(settings) === JSON.stringify(i.settings ?? {})) return setUnchanged(true);
        setBusy(true);
        try {
          await patch(`/api/integrations/${encodeURIComponent(i.id)}`, { settings });
          props.onSaved();
        } catch (x) {
          const at = x instanceof APIError ? settingFieldOf(fields, x.field) : undefined;
          if (x instanceof APIError && at !== undefined) setErrs({ [at]: x.message });
          else setFormError(x);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h3 style="margin-top:0">Settings of {i.name}</h3>
      <p class="small">
        What {provider.display_name} does with Aqio's data (docs/integrations). A field left empty is not set: its default applies.
      </p>
      {fields.map((f) => {
        const v = values[f.key];
        const err = errs[f.key];
        const help = f.description || (f.schema.default !== undefined ? `Default: ${JSON.stringify(f.schema.default)}.` : '');
        const field = {
          id: id(f),
          label: (
            <>
              {f.label}
              {f.kind === 'list' && <small> (separated by commas)</small>}
              {f.kind === 'map' && <small> (one "Aqio field: target" a line)</small>}
            </>
          ),
          hint: help,
          error: err,
        };
        return (
          <div key={f.key} data-setting={f.key}>
            {f.kind === 'boolean' ? (
              <label class="check">
                <input
                  type="checkbox"
                  id={id(f)}
                  aria-invalid={!!err}
                  aria-describedby={help ? `${id(f)}-help` : undefined}
                  checked={v === true}
                  onChange={(e) => set(f, e.currentTarget.checked)}
                />{' '}
                {f.label}
              </label>
            ) : f.kind === 'enum-list' ? (
              <fieldset>
                <legend>{f.label}</legend>
                {f.options!.map((o) => (
                  <label class="check" key={o}>
                    <input
                      type="checkbox"
                      checked={(v as string[]).includes(o)}
                      onChange={(e) => set(f, e.currentTarget.checked ? [...(v as string[]), o] : (v as string[]).filter((x) => x !== o))}
                    />{' '}
                    {o}
                  </label>
                ))}
              </fieldset>
            ) : f.kind === 'enum' ? (
              <Field as="select" {...field} value={v as string} onChange={(e) => set(f, e.currentTarget.value)}>
                {f.schema.default === undefined && <option value="">(not set)</option>}
                {f.options!.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </Field>
            ) : f.kind === 'map' || f.kind === 'json' ? (
              <Field as="textarea" {...field} class="mono" rows={f.kind === 'json' ? 6 : 3} value={v as string} onInput={(e) => set(f, e.currentTarget.value)} />
            ) : (
              <Field
                {...field}
                inputMode={f.kind === 'integer' || f.kind === 'number' ? 'numeric' : undefined}
                value={v as string}
                onInput={(e) => set(f, e.currentTarget.value)}
              />
            )}
            {(f.kind === 'boolean' || f.kind === 'enum-list') && <FieldNotes id={id(f)} hint={help} error={err} />}
          </div>
        );
      })}
      {unchanged && (
        <p class="notice" role="status">
          Nothing changed.
        </p>
      )}
      <FormActions error={formError} busy={busy} submit="Save settings" onCancel={props.onCancel} />
    </form>
  );
}
