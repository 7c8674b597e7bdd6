// Shapes of the API responses the console reads (api/openapi.yaml).
export interface EventType {
  name: string;
  description: string;
  operational?: boolean;
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
  auth: 'service_token' | 'api_key';
  csrf_token: string;
  expires_at: string;
}
