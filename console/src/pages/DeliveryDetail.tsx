import { useEffect, useState } from 'preact/hooks';
import { get, post } from '../api';
import { ErrorBox, Link, StatusBadge, time, useWhoami } from '../components';
import { can, formatDuration, outcome, prettyBody } from '../logic';
import { href } from '../route';
import type { DeliveryDetail as Detail, RunRef } from '../types';

export function DeliveryDetail(props: { id: string; deliveryId: string }) {
  const [d, setD] = useState<Detail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [run, setRun] = useState<RunRef | null>(null);
  const [busy, setBusy] = useState(false);
  const me = useWhoami();
  const path = `/api/webhooks/${encodeURIComponent(props.id)}/deliveries/${encodeURIComponent(props.deliveryId)}`;

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const load = async () => {
      try {
        const v = await get<Detail>(path);
        if (stopped) return;
        setD(v);
        // An attempt in flight is shown until it completes.
        if (v.status === 'pending') timer = window.setTimeout(load, 2000);
      } catch (e) {
        if (!stopped) setError(e);
      }
    };
    load();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [path]);

  return (
    <main>
      <p class="crumbs">
        <Link href={href({ page: 'webhooks' })}>Webhooks</Link> /{' '}
        <Link href={href({ page: 'webhook', id: props.id })}>{props.id}</Link> / attempt
      </p>
      <ErrorBox error={error} />
      {d && (
        <>
          <div class="title-row">
            <h1>
              Attempt <StatusBadge status={d.status} />
            </h1>
            {can(me, 'webhook.redeliver') && (
              <button
                type="button"
                disabled={busy}
                onClick={async () => {
                  setBusy(true);
                  setError(null);
                  try {
                    setRun(await post<RunRef>(`${path}/redeliver`));
                  } catch (e) {
                    setError(e);
                  } finally {
                    setBusy(false);
                  }
                }}
              >
                Redeliver
              </button>
            )}
          </div>
          {run && (
            <p class="notice" role="status" data-testid="redelivered">
              Redelivery started as run <code>{run.workflow_id}</code>.{' '}
              {run.temporal_url && <a href={run.temporal_url}>Open it in the Temporal UI</a>}{' '}
              <Link href={href({ page: 'webhook', id: props.id })}>Watch its attempt</Link>
            </p>
          )}
          <dl class="facts">
            <dt>Outcome</dt>
            <dd data-testid="outcome">{outcome(d)}</dd>
            <dt>Event type</dt>
            <dd>{d.event_type}</dd>
            <dt>Message id</dt>
            <dd class="mono">{d.message_id}</dd>
            <dt>Attempted</dt>
            <dd>{time(d.attempted_at)}</dd>
            <dt>Duration</dt>
            <dd>{formatDuration(d.duration_ms)}</dd>
            <dt>Attempt</dt>
            <dd>
              {d.retry_number + 1}
              {d.is_final ? ' (final)' : ''}
              {d.next_retry_at ? `, next retry ${time(d.next_retry_at)}` : ''}
            </dd>
            {d.error_message && (
              <>
                <dt>Error</dt>
                <dd class="error-text">{d.error_message}</dd>
              </>
            )}
            {d.redelivery_of && (
              <>
                <dt>Redelivery of</dt>
                <dd class="mono">{d.redelivery_of}</dd>
              </>
            )}
            <dt>Workflow</dt>
            <dd class="mono">
              {d.temporal_url ? (
                <a href={d.temporal_url} data-testid="temporal-url">
                  {d.workflow_id}
                </a>
              ) : (
                d.workflow_id
              )}
            </dd>
          </dl>
          <h2>Request</h2>
          <Headers h={d.request_headers} label="Request headers" />
          <pre aria-label="Request body" data-testid="payload">{prettyBody(d.payload)}</pre>
          <h2>Response {d.response_status_code ? `(HTTP ${d.response_status_code})` : ''}</h2>
          <Headers h={d.response_headers} label="Response headers" />
          <pre aria-label="Response body">{d.response_body ? prettyBody(d.response_body) : '(no body)'}</pre>
        </>
      )}
    </main>
  );
}

function Headers(props: { h?: Record<string, string>; label: string }) {
  const entries = Object.entries(props.h ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <p>No headers recorded.</p>;
  return (
    <table class="headers" aria-label={props.label}>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row" class="mono">{k}</th>
            <td class="mono">{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
