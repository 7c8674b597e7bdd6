package providers

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"
)

// Kind classifies a provider failure for retry decisions.
type Kind string

// Failure kinds.
const (
	// KindRetryable: transient (5xx, timeouts); retry with backoff.
	KindRetryable Kind = "retryable"
	// KindRateLimited: slow down; RetryAfter says how long when known.
	KindRateLimited Kind = "rate_limited"
	// KindAuth: the credential is revoked or invalid; the user must reconnect.
	KindAuth Kind = "auth"
	// KindExpired: the access token expired; the runtime refreshes it
	// once and retries (Slack token_expired, HTTP 401). Still expired
	// after the refresh, it is treated as KindAuth.
	KindExpired Kind = "expired"
	// KindPermanent: this request will never succeed (bad input, unknown channel).
	KindPermanent Kind = "permanent"
)

// Error is a classified provider failure. Connectors return it (or wrap
// it) from actions; the activity maps Kind onto Temporal: rate_limited →
// retry after RetryAfter (NextRetryDelay), retryable → backoff, auth and
// expired → non-retryable and the integration goes to status error,
// permanent → non-retryable.
type Error struct {
	Provider   string
	Kind       Kind
	Code       string // provider error code, e.g. channel_not_found, invalid_grant
	Status     int    // HTTP status, 0 when none
	RetryAfter time.Duration
	Message    string
	// Field names the settings or credential field at fault, when known
	// ("settings.channel"), so the API can answer 422 naming it.
	Field string
}

func (e *Error) Error() string {
	msg := e.Provider + ": " + e.Code
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Message != "" && e.Message != e.Code {
		msg += ": " + e.Message
	}
	return msg
}

// AsError returns the classified error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var pe *Error
	ok := errors.As(err, &pe)
	return pe, ok
}

// invalidGrantCodes mean the refresh token (or code) is dead: reconnect.
var invalidGrantCodes = map[string]bool{
	"invalid_grant": true, "invalid_refresh_token": true, "token_revoked": true,
	"invalid_code": true, "code_already_used": true, "unauthorized_client": true,
	"invalid_client": true, "invalid_client_id": true, "bad_client_secret": true,
}

// ClassifyTokenError classifies an error of golang.org/x/oauth2's token
// endpoint calls (exchange and refresh).
func ClassifyTokenError(provider string, err error) *Error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e := &Error{Provider: provider, Code: re.ErrorCode, Message: re.ErrorDescription}
		if re.Response != nil {
			e.Status = re.Response.StatusCode
		}
		if e.Code == "" {
			e.Code = fmt.Sprintf("http_%d", e.Status)
		}
		switch {
		case invalidGrantCodes[re.ErrorCode]:
			e.Kind = KindAuth
		case e.Status == 429:
			e.Kind = KindRateLimited
		case e.Status >= 500 || e.Status == 408:
			e.Kind = KindRetryable
		case e.Status == 401:
			e.Kind = KindAuth
		case e.Status >= 400:
			e.Kind = KindPermanent
		default:
			e.Kind = KindRetryable
		}
		return e
	}
	return &Error{Provider: provider, Kind: KindRetryable, Code: "transport", Message: err.Error()}
}
