// The console's pages, routed on location.pathname under /console.
export type Route =
  | { page: 'webhooks' }
  | { page: 'webhook'; id: string }
  | { page: 'webhook-edit'; id: string }
  | { page: 'api-keys' }
  | { page: 'integrations' }
  | { page: 'usage' }
  | { page: 'audit' }
  | { page: 'delivery'; id: string; deliveryId: string }
  | { page: 'explorer' }
  | { page: 'not_found'; path: string };

export const base = '/console';

export function parseRoute(pathname: string): Route {
  let p = pathname.startsWith(base) ? pathname.slice(base.length) : pathname;
  p = p.replace(/\/+$/, '');
  const parts = p.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'webhooks')) return { page: 'webhooks' };
  if (parts[0] === 'explorer' && parts.length === 1) return { page: 'explorer' };
  if (parts[0] === 'webhooks' && parts.length === 2) return { page: 'webhook', id: parts[1] };
  if (parts[0] === 'webhooks' && parts.length === 3 && parts[2] === 'edit') return { page: 'webhook-edit', id: parts[1] };
  if (parts.length === 1 && ['api-keys', 'integrations', 'usage', 'audit'].includes(parts[0])) {
    return { page: parts[0] as 'api-keys' | 'integrations' | 'usage' | 'audit' };
  }
  if (parts[0] === 'webhooks' && parts.length === 4 && parts[2] === 'deliveries') {
    return { page: 'delivery', id: parts[1], deliveryId: parts[3] };
  }
  return { page: 'not_found', path: pathname };
}

export function href(r: Route): string {
  switch (r.page) {
    case 'webhooks':
      return `${base}/webhooks`;
    case 'webhook':
      return `${base}/webhooks/${encodeURIComponent(r.id)}`;
    case 'webhook-edit':
      return `${base}/webhooks/${encodeURIComponent(r.id)}/edit`;
    case 'api-keys':
    case 'integrations':
    case 'usage':
    case 'audit':
      return `${base}/${r.page}`;
    case 'delivery':
      return `${base}/webhooks/${encodeURIComponent(r.id)}/deliveries/${encodeURIComponent(r.deliveryId)}`;
    case 'explorer':
      return `${base}/explorer`;
    case 'not_found':
      return r.path;
  }
}
