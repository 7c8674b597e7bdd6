import { useEffect, useState } from 'preact/hooks';
import { get, post } from './api';
import { ErrorBox } from './components';
import { localToRFC3339, recoveryPercent, recoverySummary, rfc3339ToLocal, type RecoveryProgress } from './logic';
import type { RecoveryStarted } from './types';

// RecoveryRun follows one recovery (GET …/recoveries/{id}) every second
// until it has finished.
export function RecoveryRun(props: { webhookId: string; run: RecoveryStarted; onFinished?: () => void }) {
  const [p, setP] = useState<RecoveryProgress | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const load = async () => {
      try {
        const r = await get<{ progress: RecoveryProgress }>(
          `/api/webhooks/${encodeURIComponent(props.webhookId)}/recoveries/${encodeURIComponent(props.run.recovery_id)}`,
        );
        if (stopped) return;
        setP(r.progress);
        setError(null);
        if (r.progress.finished) {
          props.onFinished?.();
          return;
        }
      } catch (e) {
        if (!stopped) setError(e);
      }
      if (!stopped) timer = window.setTimeout(load, 1000);
    };
    load();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [props.run.recovery_id]);
  return (
    <div class="recovery" data-testid="recovery">
      <p role="status" aria-live="polite" data-testid="recovery-progress">
        {p ? recoverySummary(p) : 'Starting…'}
      </p>
      {p && <progress max={100} value={recoveryPercent(p)} aria-label="Recovery progress" />}
      <p class="small">
        Run <code>{props.run.workflow_id}</code>
        {props.run.temporal_url && (
          <>
            {' '}
            · <a href={props.run.temporal_url}>open it in the Temporal UI</a>
          </>
        )}
      </p>
      <ErrorBox error={error} />
    </div>
  );
}

const allStatuses = [
  ['failed', 'failed'],
  ['cancelled', 'cancelled (the endpoint was disabled mid-retry)'],
  ['skipped_disabled', 'not sent while disabled'],
] as const;

// RecoverSince: re-deliver what was not delivered since a time.
export function RecoverSince(props: { webhookId: string; onStarted?: () => void }) {
  const [since, setSince] = useState(rfc3339ToLocal(new Date(Date.now() - 3600_000).toISOString()));
  const [statuses, setStatuses] = useState<string[]>(['failed']);
  const [errs, setErrs] = useState<{ since?: string; statuses?: string }>({});
  const [error, setError] = useState<unknown>(null);
  const [run, setRun] = useState<RecoveryStarted | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="card"
      aria-label="Recover since a time"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const s = localToRFC3339(since);
        const v: typeof errs = {};
        if (!s) v.since = 'Give a date and time.';
        else if (new Date(s).getTime() > Date.now()) v.since = 'Give a time in the past.';
        if (statuses.length === 0) v.statuses = 'Choose at least one kind of message.';
        setErrs(v);
        if (Object.keys(v).length) return;
        setBusy(true);
        setError(null);
        try {
          setRun(await post<RecoveryStarted>(`/api/webhooks/${encodeURIComponent(props.webhookId)}/recover`, { since: s, statuses }));
          props.onStarted?.();
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>Recover since a time</h2>
      <p class="lead">Re-delivers, as one run, every message of the window that was never delivered (up to 1,000).</p>
      <label for="rc-since">Since (your local time)</label>
      <input
        id="rc-since"
        type="datetime-local"
        value={since}
        aria-invalid={!!errs.since}
        onInput={(e) => (setSince(e.currentTarget.value), setErrs({ ...errs, since: undefined }))}
      />
      {errs.since && <p class="field-error">{errs.since}</p>}
      <fieldset>
        <legend>Messages to re-deliver</legend>
        {allStatuses.map(([s, label]) => (
          <label class="check" key={s}>
            <input
              type="checkbox"
              checked={statuses.includes(s)}
              onChange={() => {
                setStatuses(statuses.includes(s) ? statuses.filter((x) => x !== s) : [...statuses, s]);
                setErrs({ ...errs, statuses: undefined });
              }}
            />{' '}
            {label}
          </label>
        ))}
        {errs.statuses && <p class="field-error">{errs.statuses}</p>}
      </fieldset>
      <ErrorBox error={error} />
      <button type="submit" disabled={busy}>
        Start recovery
      </button>
      {run && <RecoveryRun webhookId={props.webhookId} run={run} />}
    </form>
  );
}
