import { useEffect, useRef, useState } from 'preact/hooks';
import { get, patch, post } from '../api';
import { ErrorBox, Link, SecretReveal, StatusBadge, time, useWhoami } from '../components';
import { RecoverSince, RecoveryRun } from '../Recovery';
import { can, formatDuration, mergeDeliveries, outcome } from '../logic';
import { href } from '../route';
import type { Delivery, Reenabled, RecoveryStarted, TestResult, Webhook, WebhookPatched } from '../types';

// The delivery log is polled this often while the page is open.
export const pollMillis = 2000;

export function WebhookDetail(props: { id: string }) {
  const [hook, setHook] = useState<Webhook | null>(null);
  const [deliveries, setDeliveries] = useState<Delivery[]>([]);
  const [fresh, setFresh] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [pollError, setPollError] = useState<unknown>(null);
  const [test, setTest] = useState<TestResult | null>(null);
  const [testing, setTesting] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const shown = useRef<Delivery[]>([]);
  const [reenabled, setReenabled] = useState<Reenabled | null>(null);
  const [owedRun, setOwedRun] = useState<RecoveryStarted | null>(null);
  const [recovering, setRecovering] = useState(false);
  const [switching, setSwitching] = useState(false);
  const me = useWhoami();

  useEffect(() => {
    get<Webhook>(`/api/webhooks/${encodeURIComponent(props.id)}`).then(setHook, setError);
  }, [props.id]);

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    let polls = 0;
    const poll = async () => {
      try {
        const page = await get<{ data: Delivery[] }>(`/api/webhooks/${encodeURIComponent(props.id)}/deliveries?limit=50`);
        if (stopped) return;
        // The state too (a failing endpoint may be disabled while the page
        // is open): after new attempts, and every 5th poll, to spare the
        // key's rate limit.
        polls++;
        if (polls % 5 === 0 || page.data.some((d) => !shown.current.some((s) => s.id === d.id && s.status === d.status))) {
          const w = await get<Webhook>(`/api/webhooks/${encodeURIComponent(props.id)}`);
          if (stopped) return;
          setHook(w);
        }
        const m = mergeDeliveries(shown.current, page.data);
        shown.current = m.list.slice(0, 200);
        setDeliveries(shown.current);
        if (m.fresh.length) setFresh(m.fresh);
        setPollError(null);
      } catch (e) {
        if (!stopped) setPollError(e);
      }
      if (!stopped) timer = window.setTimeout(poll, pollMillis);
    };
    shown.current = [];
    poll();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [props.id]);

  if (error) return <main><ErrorBox error={error} /></main>;
  if (!hook) return <main><p>Loading…</p></main>;

  return (
    <main>
      <p class="crumbs">
        <Link href={href({ page: 'webhooks' })}>Webhooks</Link> / {hook.name}
      </p>
      <div class="title-row">
        <h1>{hook.name}</h1>
        <div class="row">
          {can(me, 'webhook.test') && (
            <button
              type="button"
              disabled={testing}
              onClick={async () => {
                setTesting(true);
                setTest(null);
                setError(null);
                try {
                  setTest(await post<TestResult>(`/api/webhooks/${encodeURIComponent(hook.id)}/test`));
                } catch (e) {
                  setError(e);
                } finally {
                  setTesting(false);
                }
              }}
            >
              {testing ? 'Sending…' : 'Send test event'}
            </button>
          )}
          {can(me, 'webhook.rotate_secret') && (
            <button
              type="button"
              class="secondary"
              onClick={async () => {
                if (!confirm('Rotate the signing secret? Deliveries carry signatures under both secrets for 24 hours.')) return;
                try {
                  const r = await post<{ secret: string; webhook: Webhook }>(
                    `/api/webhooks/${encodeURIComponent(hook.id)}/rotate-secret`,
                    {},
                  );
                  setSecret(r.secret);
                  setHook(r.webhook);
                } catch (e) {
                  setError(e);
                }
              }}
            >
              Rotate secret
            </button>
          )}
          {can(me, 'webhook.edit') && (
            <Link href={href({ page: 'webhook-edit', id: hook.id })} class="button secondary">
              Edit
            </Link>
          )}
          {can(me, 'webhook.recover') && (
            <button type="button" class="secondary" aria-expanded={recovering} onClick={() => setRecovering(!recovering)}>
              Recover…
            </button>
          )}
          {hook.is_active && can(me, 'webhook.edit') && (
            <button
              type="button"
              class="secondary"
              disabled={switching}
              onClick={async () => {
                if (!confirm('Disable this endpoint? Pending retries are cancelled; events are not sent until it is enabled again.')) return;
                setSwitching(true);
                try {
                  const r = await patch<WebhookPatched>(`/api/webhooks/${encodeURIComponent(hook.id)}`, { is_active: false });
                  setHook(r);
                  setReenabled(null);
                  setOwedRun(null);
                } catch (e) {
                  setError(e);
                } finally {
                  setSwitching(false);
                }
              }}
            >
              Disable
            </button>
          )}
        </div>
      </div>
      <dl class="facts">
        <dt>URL</dt>
        <dd class="mono">{hook.url}</dd>
        <dt>Events</dt>
        <dd>{hook.events.join(', ')}</dd>
        <dt>State</dt>
        <dd data-testid="state">{hook.is_active ? 'active' : 'disabled'}</dd>
        <dt>Id</dt>
        <dd class="mono">{hook.id}</dd>
        {hook.previous_secret_expires_at && (
          <>
            <dt>Previous secret</dt>
            <dd>still signs until {time(hook.previous_secret_expires_at)}</dd>
          </>
        )}
        <dt>Filters</dt>
        <dd>
          {hook.event_filters || hook.filter_expression ? (
            <>
              {hook.event_filters && <code>{JSON.stringify(hook.event_filters)}</code>}
              {hook.event_filters && hook.filter_expression && ' and '}
              {hook.filter_expression && <code>{hook.filter_expression}</code>}
            </>
          ) : (
            'none: every subscribed event'
          )}
        </dd>
        {hook.destination_auth && (
          <>
            <dt>Destination auth</dt>
            <dd class="mono">{hook.destination_auth}</dd>
          </>
        )}
      </dl>
      {!hook.is_active && (
        <section class="disabled-box" role="region" aria-label="Disabled" data-testid="disabled">
          <p>
            <strong>This endpoint is disabled</strong>
            {hook.disabled_at ? ` since ${time(hook.disabled_at)}` : ''}: {hook.disabled_reason || 'no reason recorded'}.
          </p>
          <p>Events that match it now are recorded but not sent. Enabling it tells you what it is owed.</p>
          {can(me, 'webhook.edit') && (
            <button
              type="button"
              disabled={switching}
              onClick={async () => {
                setSwitching(true);
                setError(null);
                try {
                  const r = await patch<WebhookPatched>(`/api/webhooks/${encodeURIComponent(hook.id)}`, { is_active: true });
                  setHook(r);
                  setReenabled(r.reenabled ?? null);
                } catch (e) {
                  setError(e);
                } finally {
                  setSwitching(false);
                }
              }}
            >
              Re-enable
            </button>
          )}
        </section>
      )}
      {reenabled && (
        <section class="notice" aria-label="Owed messages" data-testid="owed">
          <p>
            Re-enabled. Disabled {reenabled.disabled_at ? `at ${time(reenabled.disabled_at)}` : ''}
            {reenabled.disabled_reason ? ` (${reenabled.disabled_reason})` : ''}.{' '}
            <strong data-testid="owed-count">{reenabled.undelivered_while_disabled}</strong> message
            {reenabled.undelivered_while_disabled === 1 ? ' was' : 's were'} not delivered between {time(reenabled.since)} and{' '}
            {time(reenabled.until)}.
          </p>
          {reenabled.undelivered_while_disabled > 0 && !owedRun && (
            <button
              type="button"
              onClick={async () => {
                try {
                  setOwedRun(await post<RecoveryStarted>(reenabled.recover.path, reenabled.recover.body));
                } catch (e) {
                  setError(e);
                }
              }}
            >
              Deliver them now
            </button>
          )}
          {owedRun && <RecoveryRun webhookId={hook.id} run={owedRun} />}
        </section>
      )}
      {recovering && <RecoverSince webhookId={hook.id} />}
      {secret && <SecretReveal label="New signing secret" secret={secret} onDone={() => setSecret(null)} />}
      {test && (
        <p class="notice" role="status" data-testid="test-result">
          Test sent: <StatusBadge status={test.status} /> {outcome(test)} in {formatDuration(test.duration_ms)}.{' '}
          {test.delivery_id && (
            <Link href={href({ page: 'delivery', id: hook.id, deliveryId: test.delivery_id })}>Open the attempt</Link>
          )}
        </p>
      )}
      <h2>Attempts</h2>
      <p class="lead" aria-live="polite">
        Newest first, refreshed every {pollMillis / 1000} s.
        {pollError ? ' Refreshing failed; retrying.' : ''}
      </p>
      {deliveries.length === 0 ? (
        <p>No attempts yet. Send a test event.</p>
      ) : (
        <table data-testid="deliveries">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event type</th>
              <th scope="col">Status</th>
              <th scope="col">Outcome</th>
              <th scope="col">Duration</th>
              <th scope="col">Attempt</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => (
              <tr key={d.id} class={fresh.includes(d.id) ? 'fresh' : ''}>
                <td>
                  <Link href={href({ page: 'delivery', id: hook.id, deliveryId: d.id })}>{time(d.attempted_at)}</Link>
                </td>
                <td>{d.event_type}</td>
                <td>
                  <StatusBadge status={d.status} />
                </td>
                <td>{outcome(d)}</td>
                <td>{formatDuration(d.duration_ms)}</td>
                <td>
                  {d.retry_number + 1}
                  {d.redelivery_of ? ' (redelivery)' : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
