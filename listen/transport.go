package listen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/models"
)

// PollInterval is how often a waiting attempt and an open stream look at
// the database for what another process wrote.
const PollInterval = 200 * time.Millisecond

// Errors an attempt to a listen session ends with; the delivery activity
// treats a transport error as retryable, so each is an attempt failure
// Temporal retries like a refused connection.
var (
	ErrNotConnected = errors.New("no aqio-connect listen client is connected to this session")
	ErrDisconnected = errors.New("the aqio-connect listen client disconnected before answering")
	ErrSessionEnded = errors.New("the listen session has ended")
)

// LocalError is the CLI's report that its local receiver could not be
// reached (refused, timed out).
type LocalError struct{ Message string }

func (e *LocalError) Error() string {
	return "the aqio-connect listen client could not reach its local receiver: " + e.Message
}

// Transport is an http.RoundTripper for the delivery client: requests to
// aqio-listen://<session id> go to the session (see the package comment),
// every other request to Next unchanged, so the SSRF policy of ordinary
// webhooks stays what Next enforces.
type Transport struct {
	Next   http.RoundTripper
	Store  *Store
	Broker *Broker
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != Scheme {
		return t.Next.RoundTrip(req)
	}
	ctx := req.Context()
	sessionID := req.URL.Host
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		body = b
	}
	ls, err := t.Store.sessionByID(ctx, sessionID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrSessionEnded
	}
	if err != nil {
		return nil, err
	}
	if !t.Store.connectedNow(ls) {
		return nil, ErrNotConnected
	}
	headers, _ := json.Marshal(req.Header)
	m := models.ListenMessage{
		ID: ids.New("lsm"), SessionID: sessionID, State: models.ListenPending,
		RequestHeaders: string(headers), RequestBody: string(body), CreatedAt: t.Store.now(),
	}
	answered, stop := t.Broker.Subscribe(MessageKey(m.ID))
	defer stop()
	if err := t.Store.DB.WithContext(ctx).Create(&m).Error; err != nil {
		return nil, fmt.Errorf("hand message to listen session: %w", err)
	}
	// The row lives only while this attempt waits: answered or not, it goes.
	defer t.Store.DB.Where("id = ?", m.ID).Delete(&models.ListenMessage{})
	t.Broker.Notify(SessionKey(sessionID))

	poll := time.NewTicker(PollInterval)
	defer poll.Stop()
	lastCheck := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-answered:
		case <-poll.C:
		}
		var cur models.ListenMessage
		if err := t.Store.DB.WithContext(ctx).Where("id = ?", m.ID).Take(&cur).Error; err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("read listen answer: %w", err)
		}
		if cur.State == models.ListenAnswered {
			return response(req, cur)
		}
		// A stream that closed while this attempt waited will not answer.
		if time.Since(lastCheck) >= time.Second {
			lastCheck = time.Now()
			ls, err := t.Store.sessionByID(ctx, sessionID)
			if errors.Is(err, ErrNotFound) {
				return nil, ErrSessionEnded
			}
			if err == nil && !t.Store.connectedNow(ls) {
				return nil, ErrDisconnected
			}
		}
	}
}

// response turns the CLI's answer into the attempt's HTTP response.
func response(req *http.Request, m models.ListenMessage) (*http.Response, error) {
	if m.ResponseError != nil {
		return nil, &LocalError{Message: *m.ResponseError}
	}
	if m.ResponseStatus == nil {
		return nil, &LocalError{Message: "no status reported"}
	}
	h := http.Header{}
	if m.ResponseHeaders != nil && *m.ResponseHeaders != "" {
		_ = json.Unmarshal([]byte(*m.ResponseHeaders), &h)
	}
	var body []byte
	if m.ResponseBody != nil {
		body = []byte(*m.ResponseBody)
	}
	code := *m.ResponseStatus
	return &http.Response{
		Status:        strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}
