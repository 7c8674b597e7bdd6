import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { setUnauthenticatedHandler } from './api';
import { ErrorBox, Link, navigate, useWhoami } from './components';
import { DeliveryDetail } from './pages/DeliveryDetail';
import { Explorer } from './pages/Explorer';
import { SignIn } from './pages/SignIn';
import { WebhookDetail } from './pages/WebhookDetail';
import { WebhookEdit } from './pages/WebhookEdit';
import { ApiKeys } from './pages/ApiKeys';
import { Integrations } from './pages/Integrations';
import { Usage } from './pages/Usage';
import { Audit } from './pages/Audit';
import { Webhooks } from './pages/Webhooks';
import { href, parseRoute, type Route } from './route';
import { currentSession, signOut, switchOrganization } from './session';
import type { Session } from './types';
import './style.css';

// SupportBadge marks support staff (GET /api/whoami: support): they see and
// re-run, and the pages show them no button that changes anything else.
function SupportBadge() {
  const me = useWhoami();
  if (!me?.support) return null;
  return (
    <span class="badge support" data-testid="support-badge" title="Support staff: you may look and re-run failed runs; secrets, keys and settings stay closed">
      support
    </span>
  );
}

function App() {
  const [route, setRoute] = useState<Route>(parseRoute(location.pathname));
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const onPop = () => setRoute(parseRoute(location.pathname));
    addEventListener('popstate', onPop);
    setUnauthenticatedHandler(() => setSession(null));
    currentSession().then(setSession, (e) => {
      setError(e);
      setSession(null);
    });
    return () => removeEventListener('popstate', onPop);
  }, []);

  useEffect(() => {
    const titles: Record<Route['page'], string> = {
      webhooks: 'Webhooks',
      webhook: 'Webhook',
      'webhook-edit': 'Edit webhook',
      'api-keys': 'API keys',
      integrations: 'Integrations',
      usage: 'Usage',
      audit: 'Audit log',
      delivery: 'Attempt',
      explorer: 'API explorer',
      not_found: 'Not found',
    };
    document.title = `${session ? titles[route.page] : 'Sign in'} · Aqio Connect console`;
  }, [route, session]);

  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null) {
    return (
      <>
        <ErrorBox error={error} />
        <SignIn onSignedIn={(s) => (setError(null), setSession(s))} />
      </>
    );
  }
  const current = (p: Route['page'][]) => (p.includes(route.page) ? 'page' : undefined);
  return (
    <>
      <a class="skip" href="#content">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Aqio Connect</span>
        <nav aria-label="Console">
          <Link href={href({ page: 'webhooks' })} class={current(['webhooks', 'webhook', 'webhook-edit', 'delivery']) ? 'active' : ''}>
            Webhooks
          </Link>
          <Link href={href({ page: 'integrations' })} class={current(['integrations']) ? 'active' : ''}>
            Integrations
          </Link>
          <Link href={href({ page: 'api-keys' })} class={current(['api-keys']) ? 'active' : ''}>
            API keys
          </Link>
          <Link href={href({ page: 'usage' })} class={current(['usage']) ? 'active' : ''}>
            Usage
          </Link>
          <Link href={href({ page: 'audit' })} class={current(['audit']) ? 'active' : ''}>
            Audit log
          </Link>
          <Link href={href({ page: 'explorer' })} class={current(['explorer']) ? 'active' : ''}>
            API explorer
          </Link>
        </nav>
        {session.login === 'oidc' && (session.organizations?.length ?? 0) > 1 ? (
          <span class="who" data-testid="who">
            <label for="org-switch" class="sr">
              Organization
            </label>
            <select
              id="org-switch"
              value={session.organization_id}
              onChange={async (e) => {
                try {
                  setSession(await switchOrganization(e.currentTarget.value, session.csrf_token));
                  setError(null);
                } catch (x) {
                  setError(x);
                }
              }}
            >
              {session.organizations!.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>{' '}
            · {session.user_id ?? 'Keycloak user'}
          </span>
        ) : (
          <span class="who" data-testid="who">
            {session.organization_id || 'organization of the key'} ·{' '}
            {session.auth === 'api_key' ? 'API key' : session.auth === 'user_jwt' ? session.user_id ?? 'Keycloak user' : 'service token'}
          </span>
        )}
        <SupportBadge key={session.organization_id} />
        <button
          type="button"
          class="secondary"
          onClick={async () => {
            const out = await signOut(session.csrf_token).catch(() => ({}) as { logout_url?: string });
            // Keycloak: end its session too; it sends the browser back to /console.
            if (out.logout_url) return location.assign(out.logout_url);
            setSession(null);
            navigate(href({ page: 'webhooks' }));
          }}
        >
          Sign out
        </button>
      </header>
      {/* Keyed by organization: switching remounts every page with the new one's data. */}
      <div id="content" key={session.organization_id}>
        {error ? (
          <main>
            <ErrorBox error={error} />
          </main>
        ) : null}
        {route.page === 'webhooks' && <Webhooks />}
        {route.page === 'webhook' && <WebhookDetail id={route.id} />}
        {route.page === 'webhook-edit' && <WebhookEdit id={route.id} />}
        {route.page === 'api-keys' && <ApiKeys />}
        {route.page === 'integrations' && <Integrations />}
        {route.page === 'usage' && <Usage />}
        {route.page === 'audit' && <Audit />}
        {route.page === 'delivery' && <DeliveryDetail id={route.id} deliveryId={route.deliveryId} />}
        {route.page === 'explorer' && <Explorer />}
        {route.page === 'not_found' && (
          <main>
            <h1>Not found</h1>
            <p>
              No console page at <code>{route.path}</code>. <Link href={href({ page: 'webhooks' })}>Go to webhooks</Link>.
            </p>
          </main>
        )}
      </div>
    </>
  );
}

render(<App />, document.getElementById('app')!);
