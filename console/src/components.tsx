import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { APIError, whoami } from './api';
import type { Whoami } from './types';
import { neededScope } from './logic';

export function navigate(to: string) {
  if (location.pathname + location.search !== to) history.pushState(null, '', to);
  dispatchEvent(new PopStateEvent('popstate'));
}

// Link is an <a> that routes inside the console without reloading.
export function Link(props: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a
      href={props.href}
      class={props.class}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

export function ErrorBox(props: { error: unknown }) {
  if (!props.error) return null;
  const e = props.error;
  if (e instanceof APIError && e.code === 'insufficient_scope') return <NeedScope error={e} />;
  const msg = e instanceof APIError ? `${e.message} (${e.code}${e.field ? `, field ${e.field}` : ''})` : String(e);
  return (
    <p class="error" role="alert">
      {msg}
    </p>
  );
}

// SecretReveal shows a secret once, with a copy button.
export function SecretReveal(props: { secret: string; label: string; onDone?: () => void; what?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <section class="secret" aria-label={props.label}>
      <p>
        <strong>{props.label}</strong> — shown this once. Copy it now and keep it safe; it{' '}
        {props.what ?? 'signs every delivery (keep it with the receiver)'}.
      </p>
      <div class="row">
        <code data-testid="secret">{props.secret}</code>
        <button
          type="button"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(props.secret);
              setCopied(true);
            } catch {
              // Clipboard refused (no permission, not a secure context): select it instead.
              const sel = getSelection();
              const code = document.querySelector('[data-testid=secret]');
              if (sel && code) sel.selectAllChildren(code);
            }
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        {props.onDone && (
          <button type="button" class="secondary" onClick={props.onDone}>
            Done
          </button>
        )}
      </div>
    </section>
  );
}

export function StatusBadge(props: { status: string }) {
  return <span class={`badge badge-${props.status}`}>{props.status}</span>;
}

export function time(s: string | null | undefined): string {
  if (!s) return '—';
  const d = new Date(s);
  return isNaN(d.getTime()) ? s : d.toLocaleString();
}

// NeedScope is what a page shows when the signed-in credential lacks the
// scope of a call: which scope, and how to get it.
export function NeedScope(props: { error: APIError }) {
  const scope = neededScope(props.error.message);
  return (
    <div class="empty-scope" role="alert" data-testid="need-scope">
      <strong>You need {scope ? <>the <code>{scope}</code> scope</> : 'another scope'} for this.</strong>{' '}
      <span>
        The signed-in credential lacks it ({props.error.message}). Sign in with a key that holds it, or with the service
        token.
      </span>{' '}
      <small>(insufficient_scope)</small>
    </div>
  );
}

// useWhoami is the signed-in credential (GET /api/whoami, cached per
// session and organization); null until it answers. Pages decide with
// logic.can which actions to show.
export function useWhoami(): Whoami | null {
  const [me, setMe] = useState<Whoami | null>(null);
  useEffect(() => {
    let live = true;
    whoami<Whoami>().then((w) => live && setMe(w), () => {});
    return () => {
      live = false;
    };
  }, []);
  return me;
}
