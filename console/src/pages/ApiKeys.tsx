import { useEffect, useState } from 'preact/hooks';
import { APIError, get, patch, post, whoami } from '../api';
import { ErrorBox, SecretReveal, StatusBadge, time } from '../components';
import { Field, FormActions, bindFields } from '../Field';
import {
  can,
  fieldOf,
  groupScopes,
  keyChanges,
  keyScopesEditable,
  localToRFC3339,
  parseIPs,
  rfc3339ToLocal,
  scopeCovered,
  toggleScope,
  validateKey,
  type KeyErrors,
} from '../logic';
import type { Whoami } from '../types';

export interface APIKey {
  id: string;
  owner: 'organization' | 'user';
  user_id: string | null;
  name: string;
  description: string | null;
  key_prefix: string;
  scopes: string[];
  allowed_ips: string[];
  status: 'active' | 'rotating' | 'rotated' | 'expired' | 'revoked';
  expires_at: string | null;
  revoked_at: string | null;
  rotated_at: string | null;
  replaced_by_id: string | null;
  last_used_at: string | null;
  usage_count: number;
  created_at: string;
}

export function ApiKeys() {
  const [keys, setKeys] = useState<APIKey[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [me, setMe] = useState<Whoami | null>(null);
  const [creating, setCreating] = useState(false);
  const [shown, setShown] = useState<{ label: string; key: string } | null>(null);
  const [rotating, setRotating] = useState<APIKey | null>(null);
  const [editing, setEditing] = useState<APIKey | null>(null);

  const load = async () => {
    try {
      const all: APIKey[] = [];
      let cursor: string | null = null;
      do {
        const page: { data: APIKey[]; next_cursor?: string | null } = await get(
          '/api/api-keys?limit=200' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''),
        );
        all.push(...page.data);
        cursor = page.next_cursor ?? null;
      } while (cursor);
      setKeys(all);
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load();
    whoami<Whoami>().then(setMe, () => {});
  }, []);

  return (
    <main>
      <div class="title-row">
        <h1>API keys</h1>
        {!creating && keys && can(me, 'api_key.create') && (
          <button type="button" onClick={() => (setCreating(true), setShown(null))}>
            New key
          </button>
        )}
      </div>
      <p class="lead">
        Keys for this organization's integrations and scripts. A key holds only the scopes it was given, never more than
        the credential that created it.
      </p>
      {shown && <SecretReveal label={shown.label} secret={shown.key} onDone={() => setShown(null)} what="authenticates as this key" />}
      {creating && me && (
        <CreateKey
          me={me}
          onCancel={() => setCreating(false)}
          onCreated={(k) => {
            setCreating(false);
            setShown({ label: `API key "${k.name}"`, key: k.key });
            load();
          }}
        />
      )}
      {editing && (
        <EditKey
          k={editing}
          me={me}
          onCancel={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            load();
          }}
        />
      )}
      {rotating && (
        <RotateKey
          k={rotating}
          onCancel={() => setRotating(null)}
          onRotated={(k) => {
            setRotating(null);
            setShown({ label: `Replacement for "${k.name}"`, key: k.key });
            load();
          }}
        />
      )}
      <ErrorBox error={error} />
      {keys && keys.length === 0 && <p>No keys yet.</p>}
      {keys && keys.length > 0 && (
        <table data-testid="keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Scopes</th>
              <th scope="col">IP ranges</th>
              <th scope="col">Status</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used (count)</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id} data-key-id={k.id}>
                <td>
                  {k.name}
                  {k.owner === 'user' && <small> (user key)</small>}
                </td>
                <td class="mono">{k.key_prefix}…</td>
                <td>{k.scopes.join(', ')}</td>
                <td>{k.allowed_ips.length ? k.allowed_ips.join(', ') : 'any'}</td>
                <td>
                  <StatusBadge status={k.status} />
                </td>
                <td>{time(k.expires_at)}</td>
                <td>
                  {time(k.last_used_at)} ({k.usage_count})
                </td>
                <td>
                  {(k.status === 'active' || k.status === 'rotating') && can(me, 'api_key.change') && (
                    <div class="row">
                      <button type="button" class="secondary" aria-label={`Edit ${k.name}`} onClick={() => (setEditing(k), setRotating(null), setShown(null))}>
                        Edit
                      </button>
                      <button type="button" class="secondary" aria-label={`Rotate ${k.name}`} onClick={() => (setRotating(k), setShown(null))}>
                        Rotate
                      </button>
                      <button
                        type="button"
                        class="secondary"
                        aria-label={`Revoke ${k.name}`}
                        onClick={async () => {
                          if (!confirm(`Revoke "${k.name}"? It stops working on its next request, everywhere.`)) return;
                          try {
                            await post(`/api/api-keys/${encodeURIComponent(k.id)}/revoke`);
                            load();
                          } catch (e) {
                            setError(e);
                          }
                        }}
                      >
                        Revoke
                      </button>
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

function CreateKey(props: { me: Whoami; onCancel: () => void; onCreated: (k: APIKey & { key: string }) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [ips, setIPs] = useState('');
  const [expires, setExpires] = useState('');
  const [errs, setErrs] = useState<KeyErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const bind = bindFields(errs, setErrs);
  return (
    <form
      class="card"
      aria-label="New API key"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const list = parseIPs(ips);
        const v = validateKey(name, scopes, list, expires);
        setErrs(v);
        if (Object.keys(v).length) return;
        setBusy(true);
        setError(null);
        try {
          const body: Record<string, unknown> = { name: name.trim(), scopes, allowed_ips: list };
          if (description.trim()) body.description = description.trim();
          if (expires) body.expires_at = localToRFC3339(expires);
          props.onCreated(await post('/api/api-keys', body));
        } catch (err) {
          const f = err instanceof APIError ? fieldOf(err.field) : undefined;
          if (err instanceof APIError && f && ['name', 'scopes', 'allowed_ips', 'expires_at'].includes(f)) {
            setErrs({ [f]: `${err.message} (${err.field})` });
          } else setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>New API key</h2>
      <Field id="key-name" label="Name" {...bind('name', name, setName)} />
      <Field id="key-description" label="Description (optional)" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      <ScopePicker
        me={props.me}
        scopes={scopes}
        error={errs.scopes}
        onChange={(next) => (setScopes(next), setErrs({ ...errs, scopes: undefined }))}
      />
      <Field
        as="textarea"
        id="key-ips"
        label="Allowed IP addresses or ranges (optional)"
        hint="Empty: any address."
        rows={2}
        class="mono"
        placeholder="203.0.113.0/24, 2001:db8::/32"
        {...bind('allowed_ips', ips, setIPs)}
      />
      <Field id="key-expires" label="Expires (optional, your local time)" type="datetime-local" {...bind('expires_at', expires, setExpires)} />
      <FormActions error={error} busy={busy} submit="Create key" onCancel={props.onCancel} />
    </form>
  );
}

// ScopePicker offers the scopes the signed-in credential may grant
// (GET /api/whoami grantable_scopes), never more; a wildcard includes what
// it covers. Used by the new-key and the edit forms.
function ScopePicker(props: { me: Whoami; scopes: string[]; error?: string; onChange: (scopes: string[]) => void }) {
  const { me, scopes } = props;
  const groups = groupScopes(me.grantable_scopes);
  const check = (s: string) =>
    scopeCovered(scopes, s) ? (
      <input type="checkbox" checked disabled aria-label={`${s} (included)`} />
    ) : (
      <input type="checkbox" aria-label={s} checked={scopes.includes(s)} onChange={() => props.onChange(toggleScope(scopes, s))} />
    );
  return (
      <fieldset>
        <legend>Scopes</legend>
        <p class="small">
          Only the scopes your credential ({me.auth === 'api_key' ? 'this API key' : me.auth.replace('_', ' ')}) may
          grant are offered.
        </p>
        {me.grantable_scopes.includes('*') && (
          <label class="check">
            {check('*')} <span>everything (*)</span>
          </label>
        )}
        {groups.map((g) => (
          <div class="family" key={g.area}>
            {g.wildcard ? (
              <label class="check">
                {check(g.wildcard)} <strong>{g.wildcard}</strong>
              </label>
            ) : (
              <strong>{g.area}</strong>
            )}
            <div class="types">
              {g.scopes.map((s) => (
                <label class="check" key={s}>
                  {check(s)} <span>{s}</span>
                </label>
              ))}
            </div>
          </div>
        ))}
        {props.error && <p class="field-error">{props.error}</p>}
      </fieldset>
  );
}

// EditKey changes a key's name, description, scopes, IP ranges and expiry
// (PATCH /api/api-keys/{id}, only what changed). The scopes picker offers
// what the signed-in credential may grant, as for a new key; a key holding
// more than that keeps its scopes (the API would refuse the list). A
// rotated key's expiry is the end of its grace period, so it is shown,
// not offered.
function EditKey(props: { k: APIKey; me: Whoami | null; onCancel: () => void; onSaved: () => void }) {
  const k = props.k;
  const [scopes, setScopes] = useState<string[]>(k.scopes);
  const scopeEdit = props.me ? keyScopesEditable(k.scopes, props.me.grantable_scopes) : { editable: false, beyond: [] };
  const [name, setName] = useState(k.name);
  const [description, setDescription] = useState(k.description ?? '');
  const [ips, setIPs] = useState(k.allowed_ips.join(', '));
  const [expires, setExpires] = useState(k.expires_at ? rfc3339ToLocal(k.expires_at) : '');
  const [errs, setErrs] = useState<KeyErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const rotated = !!k.replaced_by_id;
  const bind = bindFields(errs, setErrs);
  return (
    <form
      class="card"
      aria-label={`Edit ${k.name}`}
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const list = parseIPs(ips);
        const v = validateKey(name, scopeEdit.editable ? scopes : k.scopes, list, rotated ? '' : expires);
        setErrs(v);
        if (Object.keys(v).length) return;
        const body = keyChanges(k, { name, description, ips: list, expires: rotated ? '' : expires, scopes: scopeEdit.editable ? scopes : undefined });
        if (Object.keys(body).length === 0) return props.onSaved();
        setBusy(true);
        setError(null);
        try {
          await patch(`/api/api-keys/${encodeURIComponent(k.id)}`, body);
          props.onSaved();
        } catch (err) {
          const f = err instanceof APIError ? fieldOf(err.field) : undefined;
          if (err instanceof APIError && f && ['name', 'scopes', 'allowed_ips', 'expires_at'].includes(f)) {
            setErrs({ [f]: `${err.message} (${err.field})` });
          } else setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>Edit {k.name}</h2>
      <Field id="edit-key-name" label="Name" {...bind('name', name, setName)} />
      <Field id="edit-key-description" label="Description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      {scopeEdit.editable && props.me ? (
        <ScopePicker me={props.me} scopes={scopes} error={errs.scopes} onChange={(next) => (setScopes(next), setErrs({ ...errs, scopes: undefined }))} />
      ) : (
        <p class="small" data-testid="scopes-fixed">
          Scopes: {k.scopes.join(', ')}.{' '}
          {scopeEdit.beyond.length > 0 &&
            `Not changed here: the key holds ${scopeEdit.beyond.join(', ')}, which your credential cannot grant; a credential holding ${scopeEdit.beyond.length === 1 ? 'it' : 'them'} may change the scopes.`}
        </p>
      )}
      <Field
        as="textarea"
        id="edit-key-ips"
        label="Allowed IP addresses or ranges"
        hint="Empty: any address. Narrowing takes effect on the key's next request."
        rows={2}
        class="mono"
        {...bind('allowed_ips', ips, setIPs)}
      />
      {rotated ? (
        <p class="small">Rotated: it stops working at the end of its grace period, {k.expires_at ? new Date(k.expires_at).toLocaleString() : '—'}.</p>
      ) : (
        <Field id="edit-key-expires" label="Expires (your local time)" type="datetime-local" {...bind('expires_at', expires, setExpires)} />
      )}
      <FormActions error={error} busy={busy} submit="Save changes" onCancel={props.onCancel} />
    </form>
  );
}

function RotateKey(props: { k: APIKey; onCancel: () => void; onRotated: (k: APIKey & { key: string }) => void }) {
  const [hours, setHours] = useState('24');
  const [err, setErr] = useState('');
  const [error, setError] = useState<unknown>(null);
  return (
    <form
      class="card"
      aria-label={`Rotate ${props.k.name}`}
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const h = Number(hours);
        if (!hours.trim() || !isFinite(h) || h < 0 || h > 168) return setErr('Give the grace period in hours, from 0 to 168.');
        try {
          props.onRotated(
            await post(`/api/api-keys/${encodeURIComponent(props.k.id)}/rotate`, { grace_seconds: Math.round(h * 3600) }),
          );
        } catch (x) {
          if (x instanceof APIError && fieldOf(x.field) === 'grace_seconds') setErr(`${x.message} (${x.field})`);
          else setError(x);
        }
      }}
    >
      <h2>Rotate {props.k.name}</h2>
      <p class="lead">A replacement key with the same scopes is created and shown once; the old key keeps working during the grace period.</p>
      <Field
        id="rot-grace"
        label="Grace period (hours)"
        error={err}
        inputMode="decimal"
        value={hours}
        onInput={(e) => (setHours(e.currentTarget.value), setErr(''))}
      />
      <FormActions error={error} submit="Rotate" onCancel={props.onCancel} />
    </form>
  );
}
