package webhooks_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

// verifyV1a is what a receiver holding only the whpk_ public key does:
// it checks the v1a entries of webhook-signature with crypto/ed25519
// (nothing from this service) over "<id>.<timestamp>.<body>".
func verifyV1a(t *testing.T, publicKey string, r testenv.Received) bool {
	t.Helper()
	raw, ok := strings.CutPrefix(publicKey, "whpk_")
	if !ok {
		t.Fatalf("public key %q lacks whpk_", publicKey)
	}
	pub, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("public key %q: %v (%d bytes)", publicKey, err, len(pub))
	}
	ts, err := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		t.Fatalf("webhook-timestamp %q", r.Header.Get("webhook-timestamp"))
	}
	content := []byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "." + string(r.Body))
	for _, entry := range strings.Fields(r.Header.Get("webhook-signature")) {
		v, b64, _ := strings.Cut(entry, ",")
		if v != "v1a" {
			t.Fatalf("an ed25519 webhook sent a %q signature: %q", v, r.Header.Get("webhook-signature"))
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && ed25519.Verify(ed25519.PublicKey(pub), content, sig) {
			return true
		}
	}
	return false
}

type ed25519Webhook struct {
	ID                      string  `json:"id"`
	Secret                  *string `json:"secret"`
	SignatureScheme         string  `json:"signature_scheme"`
	PublicKey               *string `json:"public_key"`
	PreviousPublicKey       *string `json:"previous_public_key"`
	PreviousSecretExpiresAt *string `json:"previous_secret_expires_at"`
}

func TestEd25519SignaturesVerifyWithThePublicKeyOnly(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)

	resp := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "asym", "url": rcv.URL, "events": []string{"registration.*"},
		"signature_scheme": "ed25519"})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	var wh ed25519Webhook
	resp.JSON(t, &wh)
	if wh.SignatureScheme != "ed25519" || wh.PublicKey == nil || !strings.HasPrefix(*wh.PublicKey, "whpk_") || wh.Secret != nil {
		t.Fatalf("created: %s", resp.Body)
	}
	if strings.Contains(string(resp.Body), "whsk_") || strings.Contains(string(resp.Body), "whsec_") {
		t.Fatalf("create response carries a secret: %s", resp.Body)
	}

	// At rest: the private key is key-ring ciphertext, and it is the
	// private half of the public key the API shows.
	row, err := env.App.Store.GetWebhook(context.Background(), org.ID, wh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(row.Secret, "whsk_") {
		t.Fatal("private key stored in the clear")
	}
	plain, err := env.App.Ring.Decrypt(row.Secret, []byte(wh.ID))
	if err != nil {
		t.Fatalf("decrypt stored key: %v", err)
	}
	seed, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(string(plain), "whsk_"))
	if !strings.HasPrefix(string(plain), "whsk_") || len(seed) != ed25519.SeedSize ||
		"whpk_"+base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)) != *wh.PublicKey {
		t.Fatal("stored key is not the private half of public_key")
	}

	// The secret endpoint has nothing to give.
	if resp := org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/secret", nil); resp.Status != http.StatusConflict ||
		!strings.Contains(string(resp.Body), `"no_shared_secret"`) {
		t.Fatalf("secret endpoint: %d %s", resp.Status, resp.Body)
	}

	postEvent(t, org, registration("evt_ed1"))
	testenv.Eventually(t, 20*time.Second, "first delivery", func() bool { return len(rcv.Got()) == 1 })
	first := rcv.Got()[0]
	if n := len(strings.Fields(first.Header.Get("webhook-signature"))); n != 1 || !verifyV1a(t, *wh.PublicKey, first) {
		t.Fatalf("delivery does not verify with the public key: %q", first.Header.Get("webhook-signature"))
	}
	// The test endpoint goes through the same activity code.
	if resp := org.Do(t, "POST", "/api/webhooks/"+wh.ID+"/test", nil); resp.Status != http.StatusOK || resp.Map(t)["status"] != "success" {
		t.Fatalf("test: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, 20*time.Second, "test delivery", func() bool { return len(rcv.Got()) == 2 })
	if !verifyV1a(t, *wh.PublicKey, rcv.Got()[1]) {
		t.Fatal("test delivery does not verify")
	}

	// Rotation with grace: a new key pair; both keys sign until the grace ends.
	resp = org.Do(t, "POST", "/api/webhooks/"+wh.ID+"/rotate-secret", map[string]any{"grace_seconds": 3600})
	if resp.Status != http.StatusOK {
		t.Fatalf("rotate: %d %s", resp.Status, resp.Body)
	}
	var rot struct {
		Secret    *string        `json:"secret"`
		PublicKey string         `json:"public_key"`
		Webhook   ed25519Webhook `json:"webhook"`
	}
	resp.JSON(t, &rot)
	oldPub := *wh.PublicKey
	if rot.Secret != nil || rot.PublicKey == oldPub || !strings.HasPrefix(rot.PublicKey, "whpk_") ||
		rot.Webhook.PublicKey == nil || *rot.Webhook.PublicKey != rot.PublicKey ||
		rot.Webhook.PreviousPublicKey == nil || *rot.Webhook.PreviousPublicKey != oldPub || rot.Webhook.PreviousSecretExpiresAt == nil {
		t.Fatalf("rotation: %s", resp.Body)
	}
	postEvent(t, org, registration("evt_ed2"))
	testenv.Eventually(t, 20*time.Second, "delivery during grace", func() bool { return len(rcv.Got()) == 3 })
	during := rcv.Got()[2]
	if n := len(strings.Fields(during.Header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("want two v1a signatures during grace, got %q", during.Header.Get("webhook-signature"))
	}
	if !verifyV1a(t, oldPub, during) || !verifyV1a(t, rot.PublicKey, during) {
		t.Fatal("a receiver holding either public key must verify during the grace period")
	}

	// Rotation without grace: only the newest key signs.
	resp = org.Do(t, "POST", "/api/webhooks/"+wh.ID+"/rotate-secret", map[string]any{"grace_seconds": 0})
	var rot2 struct {
		PublicKey string         `json:"public_key"`
		Webhook   ed25519Webhook `json:"webhook"`
	}
	resp.JSON(t, &rot2)
	if resp.Status != http.StatusOK || rot2.Webhook.PreviousPublicKey != nil || rot2.PublicKey == rot.PublicKey {
		t.Fatalf("rotation without grace: %d %s", resp.Status, resp.Body)
	}
	postEvent(t, org, registration("evt_ed3"))
	testenv.Eventually(t, 20*time.Second, "delivery after grace", func() bool { return len(rcv.Got()) == 4 })
	after := rcv.Got()[3]
	if !verifyV1a(t, rot2.PublicKey, after) || verifyV1a(t, rot.PublicKey, after) || verifyV1a(t, oldPub, after) {
		t.Fatalf("after the grace only the newest key may verify (sig %q)", after.Header.Get("webhook-signature"))
	}
}

// Anyone who may read the webhook reads its public key; no read shows a
// secret, and nobody gets the private key.
func TestEd25519PublicKeyReadableWithReadScope(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	var wh ed25519Webhook
	resp := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "asym-read", "url": rcv.URL, "events": []string{"*"},
		"signature_scheme": "ed25519"})
	resp.JSON(t, &wh)
	hmacWh := createWebhook(t, org, map[string]any{"name": "hmac-read", "url": rcv.URL, "events": []string{"*"}})

	keyResp := org.Do(t, "POST", "/api/api-keys", map[string]any{"name": "reader", "scopes": []string{"webhooks:read"}})
	if keyResp.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", keyResp.Status, keyResp.Body)
	}
	reader := "Bearer " + keyResp.Map(t)["key"].(string)

	resp = env.Do(t, "GET", "/api/webhooks/"+wh.ID, nil, "Authorization", reader)
	var got ed25519Webhook
	resp.JSON(t, &got)
	if resp.Status != http.StatusOK || got.PublicKey == nil || *got.PublicKey != *wh.PublicKey || got.SignatureScheme != "ed25519" {
		t.Fatalf("read-only key reading the webhook: %d %s", resp.Status, resp.Body)
	}
	list := env.Do(t, "GET", "/api/webhooks", nil, "Authorization", reader)
	if list.Status != http.StatusOK || !strings.Contains(string(list.Body), *wh.PublicKey) {
		t.Fatalf("list: %d %s", list.Status, list.Body)
	}
	for _, body := range [][]byte{resp.Body, list.Body} {
		if strings.Contains(string(body), "whsk_") || strings.Contains(string(body), "whsec_") || strings.Contains(string(body), `"secret"`) {
			t.Fatalf("a read shows a secret: %s", body)
		}
	}
	// An hmac webhook shows its scheme and no public key.
	resp = env.Do(t, "GET", "/api/webhooks/"+hmacWh.ID, nil, "Authorization", reader)
	if m := resp.Map(t); m["signature_scheme"] != "hmac-sha256" || m["public_key"] != nil {
		t.Fatalf("hmac webhook: %s", resp.Body)
	}
	// Reading a secret needs webhooks:write, and an ed25519 webhook has none to give.
	for _, id := range []string{wh.ID, hmacWh.ID} {
		if resp := env.Do(t, "GET", "/api/webhooks/"+id+"/secret", nil, "Authorization", reader); resp.Status != http.StatusForbidden {
			t.Fatalf("read-only key read the secret of %s: %d %s", id, resp.Status, resp.Body)
		}
	}
}

func TestEd25519BadInput(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	resp := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "x", "url": rcv.URL, "events": []string{"*"},
		"signature_scheme": "rsa"})
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	resp.JSON(t, &e)
	if resp.Status/100 != 4 || e.Error.Field != "signature_scheme" || !strings.Contains(e.Error.Message, "signature_scheme") {
		t.Fatalf("bad scheme: %d %s", resp.Status, resp.Body)
	}
	wh := createWebhook(t, org, map[string]any{"name": "x", "url": rcv.URL, "events": []string{"*"}})
	resp = org.Do(t, "PATCH", "/api/webhooks/"+wh.ID, map[string]any{"signature_scheme": "ed25519"})
	resp.JSON(t, &e)
	if resp.Status != http.StatusUnprocessableEntity || e.Error.Field != "signature_scheme" {
		t.Fatalf("changing the scheme: %d %s", resp.Status, resp.Body)
	}
	if m := org.Do(t, "GET", "/api/webhooks/"+wh.ID, nil).Map(t); m["signature_scheme"] != "hmac-sha256" {
		t.Fatalf("scheme changed: %v", m)
	}
}
