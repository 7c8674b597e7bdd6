import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { APIError } from './api';

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
  const msg = e instanceof APIError ? `${e.message} (${e.code}${e.field ? `, field ${e.field}` : ''})` : String(e);
  return (
    <p class="error" role="alert">
      {msg}
    </p>
  );
}

// SecretReveal shows a secret once, with a copy button.
export function SecretReveal(props: { secret: string; label: string; onDone?: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <section class="secret" aria-label={props.label}>
      <p>
        <strong>{props.label}</strong> — shown this once. Copy it now and keep it with the receiver; it signs every
        delivery.
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
