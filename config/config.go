// Package config reads the service configuration from environment variables.
package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the whole service configuration. It is read once in main and
// passed explicitly to whatever needs a part of it.
type Config struct {
	HTTPAddr            string
	ServiceToken        string
	DataDir             string
	DatabaseURL         string
	TemporalAddress     string
	TemporalNamespace   string
	TemporalUIURL       string
	EncryptionKeys      string
	AllowPrivateTargets bool
	PublicURL           string

	// ResponseBodyLimit is how many bytes of a receiver's response body are
	// kept per delivery attempt.
	ResponseBodyLimit int
	// MaxEventBytes bounds the size of a posted domain event.
	MaxEventBytes int64
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// WorkerConcurrency bounds concurrent activities and workflow tasks per worker.
	WorkerConcurrency int
	// DeliveryRetention is how long delivery attempts are kept.
	DeliveryRetention time.Duration
	// EventRetention is how long events (with their payloads) are kept;
	// IntegrationObjectRetention how long an integration object not
	// updated is kept (0: forever). See docs/PRIVACY.md.
	EventRetention             time.Duration
	IntegrationObjectRetention time.Duration
	// AutoDisableAfter disables a webhook whose deliveries all failed for longer.
	AutoDisableAfter time.Duration
	// WebhookSignalBatchMax: outbox batches of at most this many messages
	// go to the webhook's Endpoint run as a signal instead of a new
	// DeliveryBatch run (0: off; docs/WEBHOOKS.md).
	WebhookSignalBatchMax int
	// WebhookPump: a webhook's quiet traffic is delivered by its endpoint
	// pump (webhook-pump:<webhook>, no Temporal call per message;
	// AQIO_WEBHOOK_PUMP, default on; docs/WEBHOOKS.md).
	WebhookPump bool
	// Integrations are the OAuth providers' settings (config/integrations.go).
	Integrations IntegrationsConfig
	// Auth is user tokens, API keys, rate limits and audit (config/auth.go).
	Auth AuthConfig
	// DBPool sizes the Postgres connection pool (config/database.go).
	DBPool DBPoolConfig
	// Dev is what only `dev` reads: its embedded Temporal ports (config/dev.go).
	Dev DevConfig
}

// Env is the lookup function used to read variables; os.LookupEnv in main,
// a map in tests.
type Env func(string) (string, bool)

// Load reads the configuration. Defaults suit production (`api`, `worker`);
// `dev` overrides a few of them before calling Validate.
func Load(env Env) (Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	c := Config{
		HTTPAddr:          get(env, "AQIO_HTTP_ADDR", ":8080"),
		ServiceToken:      get(env, "AQIO_SERVICE_TOKEN", ""),
		DataDir:           get(env, "AQIO_DATA_DIR", "./data"),
		DatabaseURL:       get(env, "DATABASE_URL", ""),
		TemporalAddress:   get(env, "TEMPORAL_ADDRESS", ""),
		TemporalNamespace: get(env, "TEMPORAL_NAMESPACE", "default"),
		TemporalUIURL:     strings.TrimRight(get(env, "TEMPORAL_UI_URL", ""), "/"),
		EncryptionKeys:    get(env, "AQIO_ENCRYPTION_KEYS", ""),
		PublicURL:         strings.TrimRight(get(env, "AQIO_PUBLIC_URL", ""), "/"),
		LogLevel:          get(env, "AQIO_LOG_LEVEL", "info"),
	}
	var err error
	if c.AllowPrivateTargets, err = getBool(env, "AQIO_ALLOW_PRIVATE_TARGETS", false); err != nil {
		return c, err
	}
	if c.ResponseBodyLimit, err = getInt(env, "AQIO_RESPONSE_BODY_LIMIT", 4096); err != nil {
		return c, err
	}
	maxEvent, err := getInt(env, "AQIO_MAX_EVENT_BYTES", 256*1024)
	if err != nil {
		return c, err
	}
	c.MaxEventBytes = int64(maxEvent)
	if c.WorkerConcurrency, err = getInt(env, "AQIO_WORKER_CONCURRENCY", 200); err != nil {
		return c, err
	}
	if c.DeliveryRetention, err = getDuration(env, "AQIO_DELIVERY_RETENTION", 30*24*time.Hour); err != nil {
		return c, err
	}
	if c.EventRetention, err = getDuration(env, "AQIO_EVENT_RETENTION", 180*24*time.Hour); err != nil {
		return c, err
	}
	if c.IntegrationObjectRetention, err = getDuration(env, "AQIO_INTEGRATION_OBJECT_RETENTION", 365*24*time.Hour); err != nil {
		return c, err
	}
	if c.AutoDisableAfter, err = getDuration(env, "AQIO_AUTO_DISABLE_AFTER", 5*24*time.Hour); err != nil {
		return c, err
	}
	if c.WebhookSignalBatchMax, err = getInt(env, "AQIO_WEBHOOK_SIGNAL_BATCH_MAX", 0); err != nil {
		return c, err
	}
	if c.WebhookPump, err = getBool(env, "AQIO_WEBHOOK_PUMP", true); err != nil {
		return c, err
	}
	if c.Integrations, err = loadIntegrations(env, c.PublicURL); err != nil {
		return c, err
	}
	if c.Auth, err = loadAuth(env); err != nil {
		return c, err
	}
	if c.DBPool, err = loadDBPool(env); err != nil {
		return c, err
	}
	if c.Dev, err = loadDev(env); err != nil {
		return c, err
	}
	return c, nil
}

// Validate checks the settings that `api` and `worker` cannot run without.
func (c Config) Validate() error {
	var missing []string
	if c.DatabaseURL == "" {
		missing = append(missing, "DATABASE_URL")
	}
	if c.TemporalAddress == "" {
		missing = append(missing, "TEMPORAL_ADDRESS")
	}
	if c.EncryptionKeys == "" {
		missing = append(missing, "AQIO_ENCRYPTION_KEYS")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing required environment variables: %s", strings.Join(missing, ", "))
	}
	return nil
}

func get(env Env, key, def string) string {
	if v, ok := env(key); ok && v != "" {
		return v
	}
	return def
}

func getBool(env Env, key string, def bool) (bool, error) {
	v, ok := env(key)
	if !ok || v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, fmt.Errorf("%s: %w", key, err)
	}
	return b, nil
}

func getInt(env Env, key string, def int) (int, error) {
	v, ok := env(key)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def, fmt.Errorf("%s: %w", key, err)
	}
	return n, nil
}

func getDuration(env Env, key string, def time.Duration) (time.Duration, error) {
	v, ok := env(key)
	if !ok || v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return def, fmt.Errorf("%s: %w", key, err)
	}
	return d, nil
}
