import { useEffect, useState } from 'preact/hooks';
import { errorFromResponse } from '../api';
import { ErrorBox } from '../components';
import { organizationChoices } from '../logic';
import { signIn, signInOptions, type SignInOptions } from '../session';
import type { Session } from '../types';

// Organizations used before in this browser (not a credential), offered in the picker.
const recentKey = 'aqio-console-recent-organizations';
function recentOrganizations(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(recentKey) ?? '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string').slice(0, 10) : [];
  } catch {
    return [];
  }
}
function remember(org: string) {
  const list = [org, ...recentOrganizations().filter((o) => o !== org)].slice(0, 10);
  localStorage.setItem(recentKey, JSON.stringify(list));
}

// listOrganizations asks the API which organizations exist, with the
// service token typed (GET /api/organizations, service token only). It is
// called straight at /api with that token, before any session exists; the
// token is not kept.
async function listOrganizations(token: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor = '';
  do {
    const res = await fetch('/api/organizations?limit=500' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''), {
      headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
      credentials: 'omit',
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw errorFromResponse(res.status, body);
    ids.push(...(body?.data ?? []).map((o: { id: string }) => o.id));
    cursor = body?.next_cursor ?? '';
  } while (cursor && ids.length < 5000);
  return ids;
}

export function SignIn(props: { onSignedIn: (s: Session) => void }) {
  const [listed, setListed] = useState<string[] | null>(null);
  const [listError, setListError] = useState<unknown>(null);
  const [token, setToken] = useState('');
  const [org, setOrg] = useState(recentOrganizations()[0] ?? 'org_demo');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [options, setOptions] = useState<SignInOptions | null>(null);
  useEffect(() => {
    signInOptions().then(setOptions, () => {});
  }, []);
  // A failed Keycloak sign-in comes back with ?error= (GET /console/callback).
  const back = new URLSearchParams(location.search);
  const isKey = token.trim().startsWith('ak_');
  const orgs = organizationChoices(listed, recentOrganizations());

  return (
    <main class="signin">
      <h1>Aqio Connect console</h1>
      <p>
        Sign in with the service token <code>dev</code> printed (also in <code>data/service-token</code>) and the
        organization to act for, or with an API key (<code>ak_…</code>, which names its organization).
      </p>
      {options?.oidc && options.login_url && (
        <section class="card" aria-label="Sign in with Keycloak">
          <a class="button" href={options.login_url} data-testid="oidc-login">
            Sign in with Keycloak
          </a>{' '}
          <small>Your Aqio account; you choose among your organizations afterwards.</small>
          {back.get('error') && (
            <p class="error" role="alert">
              Keycloak sign-in failed: {back.get('error_description') || back.get('error')}
            </p>
          )}
        </section>
      )}
      {options?.oidc && <p class="small">Or, for development and automation, paste a credential:</p>}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const s = await signIn(token, isKey ? '' : org);
            if (!isKey) remember(org.trim());
            setToken('');
            props.onSignedIn(s);
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="token">Token or API key</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          required
          value={token}
          onInput={(e) => (setToken(e.currentTarget.value), setListed(null), setListError(null))}
        />
        <label for="organization">Organization</label>
        <input
          id="organization"
          name="organization"
          list="organizations"
          disabled={isKey}
          required={!isKey}
          value={isKey ? '' : org}
          placeholder={isKey ? 'named by the API key' : 'org_demo'}
          onInput={(e) => setOrg(e.currentTarget.value)}
          aria-describedby="organization-help"
        />
        <datalist id="organizations">
          {orgs.map((o) => (
            <option value={o} key={o} />
          ))}
        </datalist>
        <small id="organization-help">
          With the service token you act for any organization: pick one it lists, one used before, or type an id (a new
          organization is created on first use).
        </small>
        {!isKey && token.trim() !== '' && (
          <div class="row">
            <button
              type="button"
              class="secondary"
              onClick={async () => {
                setListError(null);
                try {
                  setListed(await listOrganizations(token.trim()));
                } catch (x) {
                  setListed(null);
                  setListError(x);
                }
              }}
            >
              List organizations
            </button>
            {listed && listed.length === 0 && <small>No organization yet: type an id.</small>}
            {listed && listed.length > 0 && (
              <select aria-label="Listed by the server" value={listed.includes(org) ? org : ''} onChange={(e) => e.currentTarget.value && setOrg(e.currentTarget.value)}>
                <option value="">{listed.length} organization{listed.length === 1 ? '' : 's'}…</option>
                {listed.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            )}
          </div>
        )}
        <ErrorBox error={listError} />
        <ErrorBox error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p class="note">
        The token is sent once and kept by the server; this browser only holds an HttpOnly session cookie.
      </p>
    </main>
  );
}
