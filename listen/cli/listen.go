package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ListenOptions configure Listen.
type ListenOptions struct {
	API API
	// ForwardTo is the local URL every delivery is posted to.
	ForwardTo string
	// Events are the event types or wildcards to receive (none: every one).
	Events []string
	// TTL is how long the session outlives the CLI (0: the service's default).
	TTL time.Duration
	// Out receives the banner and one line per delivery.
	Out io.Writer
	// Local is the client that posts to ForwardTo (nil: a 10 s timeout).
	Local *http.Client
	// OnSession, when set, is called once the session exists (tests).
	OnSession func(Session)
}

// Session is a listen session as the API returned it.
type Session struct {
	ID          string    `json:"id"`
	WebhookID   string    `json:"webhook_id"`
	ForwardTo   string    `json:"forward_to"`
	Events      []string  `json:"events"`
	TTLSeconds  int       `json:"ttl_seconds"`
	ExpiresAt   time.Time `json:"expires_at"`
	Secret      string    `json:"secret"`
	StreamURL   string    `json:"stream_url"`
	TemporalURL *string   `json:"temporal_url"`
}

// delivery is the data of a stream's "delivery" event.
type delivery struct {
	ID      string      `json:"id"`
	Headers http.Header `json:"headers"`
	Body    string      `json:"body"`
}

// errSessionEnded is the stream's "end" event or a 404: the session is gone.
var errSessionEnded = errors.New("the listen session was ended or expired on the server")

// maxLocalBody is how much of the local receiver's answer is reported.
const maxLocalBody = 64 << 10

// Listen opens a session, forwards every delivery of its stream to
// ForwardTo and reports the local answer, until ctx ends (then it ends
// the session, which deletes its endpoint) or the session ends.
func Listen(ctx context.Context, o ListenOptions) error {
	if err := checkForwardTo(o.ForwardTo); err != nil {
		return err
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Local == nil {
		o.Local = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	in := map[string]any{"forward_to": o.ForwardTo}
	if len(o.Events) > 0 {
		in["events"] = o.Events
	}
	if o.TTL > 0 {
		in["ttl_seconds"] = int(o.TTL.Seconds())
	}
	var s Session
	if err := o.API.do(ctx, http.MethodPost, "/api/listen/sessions", in, &s); err != nil {
		return fmt.Errorf("open listen session: %w", err)
	}
	defer func() {
		// ctx is over (Ctrl-C): end the session with a context of its own.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err := o.API.do(dctx, http.MethodDelete, "/api/listen/sessions/"+url.PathEscape(s.ID), nil, nil)
		var ae *APIError
		switch {
		case err == nil:
			fmt.Fprintf(o.Out, "Session %s ended; its webhook %s was deleted.\n", s.ID, s.WebhookID)
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			fmt.Fprintf(o.Out, "Session %s had already ended.\n", s.ID)
		default:
			fmt.Fprintf(o.Out, "Could not end session %s (%v); it expires %ds after the last connection.\n", s.ID, err, s.TTLSeconds)
		}
	}()
	printBanner(o.Out, s)
	if o.OnSession != nil {
		o.OnSession(s)
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	backoff := time.Second
	for {
		err := stream(ctx, o, s, &wg)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errSessionEnded) {
			return err
		}
		fmt.Fprintf(o.Out, "%s  stream interrupted (%v); reconnecting in %s\n", now(), err, backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func checkForwardTo(raw string) error {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--forward-to must be an absolute http or https URL, such as http://localhost:3000/hook")
	}
	return nil
}

func printBanner(w io.Writer, s Session) {
	events := strings.Join(s.Events, ", ")
	fmt.Fprintf(w, "Ready. Forwarding deliveries of %s to %s\n", events, s.ForwardTo)
	fmt.Fprintf(w, "  Session         %s (webhook %s)\n", s.ID, s.WebhookID)
	fmt.Fprintf(w, "  Signing secret  %s\n", s.Secret)
	fmt.Fprintf(w, "                  (verify the forwarded requests with it, as with any Standard Webhooks endpoint)\n")
	if s.TemporalURL != nil {
		fmt.Fprintf(w, "  Session run     %s\n", *s.TemporalURL)
	}
	fmt.Fprintf(w, "  The endpoint is deleted when you stop (Ctrl-C), or %ds after this CLI goes away.\n", s.TTLSeconds)
}

// stream reads the session's stream until it breaks; each delivery is
// forwarded in its own goroutine (tracked by wg).
func stream(ctx context.Context, o ListenOptions, s Session, wg *sync.WaitGroup) error {
	req, err := o.API.request(ctx, http.MethodGet, "/api/listen/sessions/"+url.PathEscape(s.ID)+"/stream", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := o.API.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return errSessionEnded
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return apiError(resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var event string
	var data bytes.Buffer
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event != "" || data.Len() > 0 {
				if err := handleEvent(ctx, o, s, event, data.Bytes(), wg); err != nil {
					return err
				}
			}
			event = ""
			data.Reset()
		case strings.HasPrefix(line, ":"): // a ping
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

func handleEvent(ctx context.Context, o ListenOptions, s Session, event string, data []byte, wg *sync.WaitGroup) error {
	switch event {
	case "end":
		return errSessionEnded
	case "delivery":
		var d delivery
		if err := json.Unmarshal(data, &d); err != nil {
			fmt.Fprintf(o.Out, "%s  unreadable delivery event: %v\n", now(), err)
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			forward(ctx, o, s, d)
		}()
	}
	return nil
}

// answer is what the CLI reports back (api ListenAnswer).
type answer struct {
	Status  int         `json:"status,omitempty"`
	Headers http.Header `json:"headers,omitempty"`
	Body    string      `json:"body,omitempty"`
	Error   string      `json:"error,omitempty"`
}

// forward posts one delivery to the local URL with its headers as signed,
// prints a line and reports the local answer.
func forward(ctx context.Context, o ListenOptions, s Session, d delivery) {
	start := time.Now()
	var a answer
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.ForwardTo, strings.NewReader(d.Body))
	if err == nil {
		for k, vs := range d.Headers {
			if hopHeader(k) {
				continue
			}
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		var resp *http.Response
		resp, err = o.Local.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, maxLocalBody))
			resp.Body.Close()
			a = answer{Status: resp.StatusCode, Headers: resp.Header, Body: string(bytes.ToValidUTF8(b, []byte("\uFFFD")))}
		}
	}
	elapsed := time.Since(start).Round(time.Millisecond)
	result := ""
	if err != nil {
		a = answer{Error: err.Error()}
		if len(a.Error) > 1000 {
			a.Error = a.Error[:1000]
		}
		result = "failed: " + err.Error()
	} else {
		result = fmt.Sprintf("%d %s", a.Status, http.StatusText(a.Status))
	}
	fmt.Fprintf(o.Out, "%s  %-28s  %s  → %s (%s)\n", now(), eventType(d.Body), d.Headers.Get("webhook-id"), result, elapsed)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	path := "/api/listen/sessions/" + url.PathEscape(s.ID) + "/messages/" + url.PathEscape(d.ID) + "/response"
	if err := o.API.do(actx, http.MethodPost, path, a, nil); err != nil {
		fmt.Fprintf(o.Out, "%s  could not report the answer to %s: %v\n", now(), d.Headers.Get("webhook-id"), err)
	}
}

// hopHeader: headers the local request sets itself.
func hopHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Content-Length", "Host", "Connection", "Transfer-Encoding", "Accept-Encoding":
		return true
	}
	return false
}

// eventType reads the type of a delivered payload (JSON or form-encoded).
func eventType(body string) string {
	var env struct {
		Type string `json:"type"`
	}
	if json.Unmarshal([]byte(body), &env) == nil && env.Type != "" {
		return env.Type
	}
	if v, err := url.ParseQuery(body); err == nil && v.Get("type") != "" {
		return v.Get("type")
	}
	return "(unknown type)"
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05Z") }
