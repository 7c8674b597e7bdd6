// Command scoped-key creates an API key that can do one thing: post events.
// Least privilege: a key leaked from one integration then cannot read or
// change webhooks, keys or integrations. The key is printed once; store it
// in your secret manager.
//
//	AQIO_URL=http://127.0.0.1:8080 AQIO_SERVICE_TOKEN=… AQIO_ORGANIZATION=org_demo go run ./examples/go/scoped-key
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	aqio "github.com/aqio/connect/sdk/go"
)

func main() {
	ctx := context.Background()
	// The Aqio backend (service token) acting for one organization; a
	// user's or another key's credential works too (a key is never
	// stronger than its creator).
	c, err := aqio.New(os.Getenv("AQIO_URL"), aqio.Options{
		ServiceToken: os.Getenv("AQIO_SERVICE_TOKEN"),
		Organization: os.Getenv("AQIO_ORGANIZATION"),
	})
	if err != nil {
		log.Fatal(err)
	}
	desc := "posts registration events from the ticketing bridge"
	res, err := c.CreateAPIKeyWithResponse(ctx, nil, aqio.APIKeyCreate{
		Name:        "ticketing bridge",
		Description: &desc,
		Scopes:      []string{"events:write"},
		// AllowedIps: &[]string{"203.0.113.0/24"}, // and only from there
	})
	if err := aqio.Check(res, err); err != nil {
		log.Fatal(err) // e.g. 422 invalid_field, field scopes.0: an unknown scope
	}
	fmt.Println("id:", res.JSON201.Id)
	fmt.Println("scopes:", strings.Join(res.JSON201.Scopes, ","))
	fmt.Println("key:", res.JSON201.Key) // shown once

	// The key can post events …
	key, err := aqio.New(os.Getenv("AQIO_URL"), aqio.Options{APIKey: res.JSON201.Key})
	if err != nil {
		log.Fatal(err)
	}
	ev := aqio.EventIn{Type: "registration.confirmed"}
	ev.Data.Object = map[string]any{"id": "reg_scoped_key_example", "event_id": "evt_1"}
	if err := aqio.Check(key.PostEventWithResponse(ctx, nil, ev)); err != nil {
		log.Fatal(err)
	}
	fmt.Println("events:write: allowed")
	// … and nothing else: listing webhooks is refused with 403 insufficient_scope.
	err = aqio.Check(key.ListWebhooksWithResponse(ctx, nil))
	if apiErr, ok := err.(*aqio.APIError); ok && apiErr.StatusCode == 403 {
		fmt.Println("webhooks:read: refused,", apiErr.Code)
		return
	}
	log.Fatalf("listing webhooks with an events:write key: %v, want 403", err)
}
