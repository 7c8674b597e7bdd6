// Shapes of the API responses the console reads (api/openapi.yaml).
export interface EventType {
  name: string;
  description: string;
  operational?: boolean;
  example?: Record<string, unknown>;
}
export interface Webhook {
  id: string;
  organization_id: string;
  name: string;
  url: string;
  events: string[];
  is_active: boolean;
  disabled_reason?: string | null;
  total_deliveries: number;
  failed_deliveries: number;
  created_at: string;
  last_triggered_at?: string | null;
  previous_secret_expires_at?: string | null;
  disabled_at?: string | null;
  event_filters?: Record<string, unknown> | null;
  filter_expression?: string | null;
  payload_include?: string[] | null;
  payload_exclude?: string[] | null;
  custom_headers?: Record<string, string> | null;
  content_type?: string;
  timeout_seconds?: number;
  retry_count?: number;
  retry_delay_seconds?: number;
  ordered?: boolean;
  max_deliveries_per_second?: number | null;
  destination_auth?: string | null;
  signature_scheme?: 'hmac-sha256' | 'ed25519';
  public_key?: string | null;
}
export interface Reenabled {
  disabled_at: string | null;
  disabled_reason: string | null;
  undelivered_while_disabled: number;
  since: string;
  until: string;
  recover: { method: 'POST'; path: string; body: { since: string; until: string; statuses: string[] } };
}
export interface WebhookPatched extends Webhook {
  cancelled_pending_deliveries: number;
  reenabled?: Reenabled;
}
export interface RecoveryStarted {
  recovery_id: string;
  workflow_id: string;
  progress_url: string;
  temporal_url?: string | null;
  since?: string;
  until?: string;
}
export interface FilterPreview {
  matches: boolean;
  event_filters: { matches: boolean } | null;
  filter_expression: { matches: boolean; error: string | null } | null;
}
export interface Whoami {
  organization_id: string;
  auth: 'service_token' | 'user_jwt' | 'api_key';
  scopes: string[];
  grantable_scopes: string[];
  user_id: string | null;
  credential_id: string | null;
  roles: string[];
  // the user holds a support role (docs/AUTH.md, support staff)
  support: boolean;
}
export interface Delivery {
  id: string;
  webhook_id: string;
  event_type: string;
  event_id?: string | null;
  message_id: string;
  status: 'pending' | 'success' | 'failed' | 'cancelled';
  response_status_code?: number | null;
  error_message?: string | null;
  attempted_at: string;
  completed_at?: string | null;
  duration_ms?: number | null;
  is_retry: boolean;
  retry_number: number;
  next_retry_at?: string | null;
  is_final?: boolean;
  workflow_id: string;
  run_id: string;
  redelivery_of?: string | null;
  interrupted?: boolean;
}
export interface DeliveryDetail extends Delivery {
  payload?: string;
  request_headers?: Record<string, string>;
  response_headers?: Record<string, string>;
  response_body?: string | null;
  temporal_url?: string | null;
}
export interface TestResult {
  delivery_id: string;
  status: string;
  response_status_code?: number | null;
  duration_ms?: number | null;
  error_message?: string | null;
  workflow_id: string;
  temporal_url?: string | null;
}
export interface RunRef {
  webhook_id: string;
  workflow_id: string;
  run_id?: string;
  temporal_url?: string | null;
}
export interface Session {
  organization_id: string;
  auth: 'service_token' | 'api_key' | 'user_jwt';
  csrf_token: string;
  expires_at: string;
  // "token" (a pasted credential) or "oidc" (Keycloak); an OIDC session
  // names the user and the organizations they may switch to.
  login?: 'token' | 'oidc';
  user_id?: string;
  organizations?: string[];
}
