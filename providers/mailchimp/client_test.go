package mailchimp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fake "github.com/aqio/connect/internal/fakes/mailchimp"
	"github.com/aqio/connect/providers"
)

const listID = "a1b2c3d4e5"

func newClient(t *testing.T, opts fake.Options) (*Client, *fake.Fake, *httptest.Server) {
	t.Helper()
	f := fake.New(opts)
	f.AddToken("tok-1")
	f.AddList(fake.List{ID: listID, Name: "Aqio attendees"})
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &Client{BaseURL: srv.URL + "/3.0", HTTP: TokenClient(srv.Client(), "tok-1"), PollInterval: time.Millisecond}, f, srv
}

func TestSubscriberHash(t *testing.T) {
	// Mailchimp's documented example: md5 of the lower-cased address.
	if got := SubscriberHash(" Urist.McVankab@freddiesjokes.com "); got != "62eeb292278cc15f5817cb78f7790b08" {
		t.Fatalf("hash %s", got)
	}
	if SubscriberHash("ADA@example.com") != fake.SubscriberHash("ada@example.com") {
		t.Fatal("hash differs from the fake's")
	}
}

func TestMetadata(t *testing.T) {
	f := fake.New(fake.Options{DC: "us7"})
	f.AddToken("tok-1")
	srv := httptest.NewServer(f)
	defer srv.Close()
	md, err := FetchMetadata(context.Background(), TokenClient(srv.Client(), "tok-1"), MetadataURL(srv.URL+"/oauth2/token"))
	if err != nil || md.DC != "us7" || md.APIEndpoint != "https://us7.api.mailchimp.com" {
		t.Fatalf("metadata %+v, %v", md, err)
	}
	if a := f.Requests()[0].Authorization; a != "OAuth tok-1" {
		t.Fatalf("metadata authorization %q, want the OAuth scheme", a)
	}
	_, err = FetchMetadata(context.Background(), TokenClient(srv.Client(), "dead"), srv.URL+"/oauth2/metadata")
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindAuth {
		t.Fatalf("dead token: %v", err)
	}
}

func TestClientMembersAndTags(t *testing.T) {
	c, f, _ := newClient(t, fake.Options{})
	f.AddMergeField(listID, fake.MergeField{Tag: "COMPANY", Name: "Company", Type: "text"})
	ctx := context.Background()
	l, err := c.GetList(ctx, listID)
	if err != nil || l.Name != "Aqio attendees" {
		t.Fatalf("list %+v, %v", l, err)
	}
	_, err = c.GetList(ctx, "nope")
	if pe, ok := providers.AsError(err); !ok || pe.Status != 404 || pe.Kind != providers.KindPermanent || pe.Code != CodeResourceNotFound {
		t.Fatalf("unknown list: %v", err)
	}
	mf, err := c.MergeFields(ctx, listID)
	if err != nil || len(mf) != 6 || mf[5].Tag != "COMPANY" {
		t.Fatalf("merge fields %+v, %v", mf, err)
	}
	m, err := c.UpsertMember(ctx, listID, MemberInput{Email: "Ada@Example.com", StatusIfNew: "transactional", MergeFields: map[string]string{"FNAME": "Ada", "COMPANY": "Engines"}})
	if err != nil || m.Status != "transactional" || m.ID != SubscriberHash("ada@example.com") {
		t.Fatalf("upsert %+v, %v", m, err)
	}
	// status_if_new does not touch an existing member.
	if m, _ := c.UpsertMember(ctx, listID, MemberInput{Email: "ada@example.com", StatusIfNew: "subscribed"}); m.Status != "transactional" {
		t.Fatalf("existing member's status changed to %s", m.Status)
	}
	if err := c.UpdateTags(ctx, listID, "ada@example.com", []Tag{{Name: "Launch party", Status: "active"}, {Name: "VIP", Status: "active"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateTags(ctx, listID, "ada@example.com", []Tag{{Name: "VIP", Status: "inactive"}}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.Member(listID, "ada@example.com")
	if strings.Join(got.Tags, ",") != "Launch party" || got.MergeFields["COMPANY"] != "Engines" {
		t.Fatalf("member %+v", got)
	}
	err = c.UpdateTags(ctx, listID, "nobody@example.com", []Tag{{Name: "x", Status: "active"}})
	if pe, ok := providers.AsError(err); !ok || pe.Status != 404 {
		t.Fatalf("tags of a non-member: %v", err)
	}
	_, err = c.UpsertMember(ctx, listID, MemberInput{Email: "grace@example.com", StatusIfNew: "subscribed", MergeFields: map[string]string{"SHOE": "42"}})
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindPermanent || pe.Code != "invalid_resource" || !strings.Contains(pe.Message, "SHOE") || !strings.Contains(pe.Message, "instance ") {
		t.Fatalf("unknown merge field: %v", err)
	}
	for _, r := range f.Requests() {
		if strings.HasPrefix(r.Path, "/3.0/") && r.Authorization != "Bearer tok-1" {
			t.Fatalf("%s %s authorization %q", r.Method, r.Path, r.Authorization)
		}
	}
}

func TestClientBatch(t *testing.T) {
	c, f, _ := newClient(t, fake.Options{BatchPolls: 2})
	f.RefuseEmail("gone@example.com", "Member In Compliance State", "gone@example.com is already a list member in compliance state due to unsubscribe, bounce, or compliance review.")
	ctx := context.Background()
	var ops []Operation
	for i, email := range []string{"a@example.com", "b@example.com", "gone@example.com"} {
		b, _ := json.Marshal(MemberInput{Email: email, StatusIfNew: "transactional"})
		ops = append(ops, Operation{Method: "PUT", Path: MemberPath(listID, email), Body: string(b), OperationID: "member:" + string(rune('1'+i))})
	}
	b, err := c.CreateBatch(ctx, ops)
	if err != nil || b.ID == "" || b.Finished() {
		t.Fatalf("batch %+v, %v", b, err)
	}
	b, err = c.WaitBatch(ctx, b.ID)
	if err != nil || !b.Finished() || b.ErroredOperations != 1 || b.ResponseBodyURL == "" {
		t.Fatalf("finished batch %+v, %v", b, err)
	}
	res, err := c.BatchResults(ctx, b.ResponseBodyURL)
	if err != nil || len(res) != 3 {
		t.Fatalf("results %+v, %v", res, err)
	}
	byID := map[string]OperationResult{}
	for _, r := range res {
		byID[r.OperationID] = r
	}
	if byID["member:1"].StatusCode != 200 || byID["member:3"].StatusCode != 400 || byID["member:3"].Problem().Code() != CodeComplianceState {
		t.Fatalf("results %+v", byID)
	}
	if f.Members(listID) != 2 {
		t.Fatalf("%d members", f.Members(listID))
	}
	// The results URL is fetched without the token (S3 would refuse it).
	for _, r := range f.Requests() {
		if strings.HasPrefix(r.Path, "/batch-results/") && r.Authorization != "" {
			t.Fatalf("token sent to the results URL: %q", r.Authorization)
		}
	}
	// A results URL that answers an error is retryable.
	_, err = c.BatchResults(ctx, strings.Replace(b.ResponseBodyURL, "X-Amz-Signature=", "X-Amz-Signature=x", 1))
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRetryable {
		t.Fatalf("refused results URL: %v", err)
	}
}

func TestClassify(t *testing.T) {
	problem := func(status int, title string) string {
		b, _ := json.Marshal(map[string]any{"type": fake.ErrorType, "title": title, "status": status, "detail": "d", "instance": "i-1"})
		return string(b)
	}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		header http.Header
		kind   providers.Kind
		code   string
		after  time.Duration
	}{
		{"429 concurrency", 429, problem(429, "Too Many Requests"), nil, providers.KindRateLimited, CodeTooManyRequests, 0},
		{"429 with Retry-After", 429, problem(429, "Too Many Requests"), http.Header{"Retry-After": {"3"}}, providers.KindRateLimited, CodeTooManyRequests, 3 * time.Second},
		{"bare 403", 403, "", nil, providers.KindRateLimited, CodeThrottled, 0},
		{"403 html", 403, "<html><body>Forbidden</body></html>", nil, providers.KindRateLimited, CodeThrottled, 0},
		{"403 problem", 403, problem(403, "User Disabled"), nil, providers.KindAuth, "user_disabled", 0},
		{"401 revoked", 401, problem(401, "API Key Invalid"), nil, providers.KindAuth, "api_key_invalid", 0},
		{"400 compliance", 400, problem(400, "Member In Compliance State"), nil, providers.KindPermanent, CodeComplianceState, 0},
		{"404", 404, problem(404, "Resource Not Found"), nil, providers.KindPermanent, CodeResourceNotFound, 0},
		{"500", 500, problem(500, "Internal Server Error"), nil, providers.KindRetryable, "internal_server_error", 0},
		{"503 compliance", 503, problem(503, "Compliance Related"), nil, providers.KindAuth, "compliance_related", 0},
		{"503 outage", 503, "", nil, providers.KindRetryable, "http_503", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: tc.header}
			if resp.Header == nil {
				resp.Header = http.Header{}
			}
			e := Classify(resp, []byte(tc.body))
			if e == nil || e.Kind != tc.kind || e.Code != tc.code || e.RetryAfter != tc.after || e.Provider != "mailchimp" {
				t.Fatalf("got %+v", e)
			}
		})
	}
	if Classify(&http.Response{StatusCode: 204, Header: http.Header{}}, nil) != nil {
		t.Fatal("204 is a success")
	}
}

func TestClientThrottle(t *testing.T) {
	c, f, _ := newClient(t, fake.Options{})
	f.Throttle(1, http.StatusForbidden)
	err := c.Ping(context.Background())
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited || pe.Code != CodeThrottled {
		t.Fatalf("bare 403: %v", err)
	}
	f.Throttle(1, http.StatusTooManyRequests)
	err = c.Ping(context.Background())
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited || pe.Code != CodeTooManyRequests {
		t.Fatalf("429: %v", err)
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}
