import { useEffect, useRef, useState } from 'preact/hooks';
import { getCSRFToken } from '../api';
import { ErrorBox } from '../components';
import { consoleSessionScheme, explorerSpec, sessionRequest } from '../logic';

// The API explorer: Swagger UI (bundled, no CDN) rendering
// /api/openapi.json. "Try it out" goes through the console session by
// default; the second server sends requests straight to the API with a
// token given in "Authorize".
export function Explorer() {
  const el = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const [{ default: SwaggerUIBundle }, res] = await Promise.all([
          import('swagger-ui-dist/swagger-ui-es-bundle.js'),
          fetch('/api/openapi.json', { headers: { Accept: 'application/json' } }),
          import('swagger-ui-dist/swagger-ui.css'),
        ]);
        if (!res.ok) throw new Error(`GET /api/openapi.json answered ${res.status}`);
        const spec = explorerSpec(await res.json(), location.origin);
        if (cancelled || !el.current) return;
        const ui = SwaggerUIBundle({
          domNode: el.current,
          spec,
          deepLinking: false,
          tryItOutEnabled: true,
          displayRequestDuration: true,
          filter: true,
          validatorUrl: null, // never call validator.swagger.io
          persistAuthorization: false,
          requestInterceptor: (req: { url: string; headers: Record<string, string>; credentials?: string }) => {
            if (sessionRequest(req.url, location.origin)) {
              req.headers['X-CSRF-Token'] = getCSRFToken();
              req.credentials = 'same-origin';
            } else {
              req.credentials = 'omit'; // direct calls use only the token given in Authorize
            }
            return req;
          },
          onComplete: () => ui.preauthorizeApiKey(consoleSessionScheme, getCSRFToken()),
        });
      } catch (e) {
        if (!cancelled) setError(e);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, []);

  return (
    <main class="explorer">
      <h1>API explorer</h1>
      <p class="lead">
        Every operation of the API, grouped by tag. <strong>Try it out</strong> sends a real request: through your
        console session (first server) or directly with a token you give in <strong>Authorize</strong> (second
        server). Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a>.
      </p>
      <ErrorBox error={error} />
      <div ref={el} data-testid="explorer" />
    </main>
  );
}
