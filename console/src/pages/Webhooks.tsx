import { useEffect, useState } from 'preact/hooks';
import { get, post, APIError } from '../api';
import { ErrorBox, Link, SecretReveal, navigate, useWhoami } from '../components';
import { EventPicker } from '../EventPicker';
import { Field, FormActions, bindFields } from '../Field';
import { can, validateWebhook, type FieldErrors } from '../logic';
import { href } from '../route';
import type { EventType, Webhook } from '../types';

export function Webhooks() {
  const me = useWhoami();
  const [hooks, setHooks] = useState<Webhook[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ id: string; secret: string } | null>(null);

  const load = async () => {
    try {
      const all: Webhook[] = [];
      let cursor: string | null = null;
      do {
        const page: { data: Webhook[]; next_cursor: string | null } = await get(
          '/api/webhooks?limit=200' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''),
        );
        all.push(...page.data);
        cursor = page.next_cursor;
      } while (cursor);
      setHooks(all);
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load();
  }, []);

  return (
    <main>
      <div class="title-row">
        <h1>Webhooks</h1>
        {!creating && !created && can(me, 'webhook.create') && (
          <button type="button" onClick={() => setCreating(true)}>
            New endpoint
          </button>
        )}
      </div>
      <p class="lead">The endpoints of this organization. Open one to send a test, watch its attempts and redeliver.</p>
      {created && (
        <SecretReveal
          label="Signing secret"
          secret={created.secret}
          onDone={() => navigate(href({ page: 'webhook', id: created.id }))}
        />
      )}
      {creating && (
        <CreateWebhook
          onCancel={() => setCreating(false)}
          onCreated={(w) => {
            setCreating(false);
            setCreated({ id: w.id, secret: w.secret });
            load();
          }}
        />
      )}
      <ErrorBox error={error} />
      {hooks && hooks.length === 0 && <p>No endpoints yet.</p>}
      {hooks && hooks.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
              <th scope="col">Deliveries (failed)</th>
            </tr>
          </thead>
          <tbody>
            {hooks.map((w) => (
              <tr key={w.id}>
                <td>
                  <Link href={href({ page: 'webhook', id: w.id })}>{w.name}</Link>
                </td>
                <td class="mono">{w.url}</td>
                <td>{w.events.join(', ')}</td>
                <td>{w.is_active ? 'active' : `disabled${w.disabled_reason ? ': ' + w.disabled_reason : ''}`}</td>
                <td>
                  {w.total_deliveries} ({w.failed_deliveries})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

function CreateWebhook(props: { onCancel: () => void; onCreated: (w: Webhook & { secret: string }) => void }) {
  const [name, setName] = useState('');
  const [url, setURL] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [types, setTypes] = useState<EventType[]>([]);
  const [errs, setErrs] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const bind = bindFields(errs, setErrs);

  useEffect(() => {
    get<{ data: EventType[] }>('/api/event-types').then((r) => setTypes(r.data), setError);
  }, []);
  return (
    <form
      class="card"
      aria-label="New endpoint"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const v = validateWebhook(name, url, events);
        setErrs(v);
        if (Object.keys(v).length) return;
        setBusy(true);
        setError(null);
        try {
          props.onCreated(await post('/api/webhooks', { name: name.trim(), url: url.trim(), events }));
        } catch (err) {
          if (err instanceof APIError && err.field && ['name', 'url', 'events'].includes(err.field.split('.')[0])) {
            setErrs({ [err.field.split('.')[0]]: err.message });
          } else setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>New endpoint</h2>
      <Field id="wh-name" label="Name" {...bind('name', name, setName)} />
      <Field id="wh-url" label="URL" type="url" placeholder="https://example.com/aqio-webhooks" {...bind('url', url, setURL)} />
      <EventPicker
        types={types}
        selected={events}
        onChange={(next) => {
          setEvents(next);
          setErrs({ ...errs, events: undefined });
        }}
        error={errs.events}
      />
      <FormActions error={error} busy={busy} submit="Create endpoint" onCancel={props.onCancel} />
    </form>
  );
}
