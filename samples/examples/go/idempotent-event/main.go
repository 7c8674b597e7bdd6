// Command idempotent-event posts a domain event so that retrying the post
// can never deliver it twice: the Idempotency-Key is chosen once, before
// the first try, and sent again with every retry. The repeat answers 200
// with duplicate: true and the deliveries of the first post.
//
//	AQIO_URL=http://127.0.0.1:8080 AQIO_SERVICE_TOKEN=… AQIO_ORGANIZATION=org_demo go run ./examples/go/idempotent-event
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	aqio "github.com/aqio/connect/sdk/go"
)

func main() {
	ctx := context.Background()
	c, err := aqio.New(os.Getenv("AQIO_URL"), aqio.Options{
		ServiceToken: os.Getenv("AQIO_SERVICE_TOKEN"),
		Organization: os.Getenv("AQIO_ORGANIZATION"),
	})
	if err != nil {
		log.Fatal(err)
	}
	// Keep the key with the event (e.g. in your outbox row) until the post
	// is accepted; a process restart reuses it.
	key := aqio.NewIdempotencyKey()
	ev := aqio.EventIn{Type: "registration.confirmed"}
	ev.Data.Object = map[string]any{"id": "reg_idempotent_example", "event_id": "evt_1", "status": "confirmed"}

	post := func() (*aqio.PostEventResponse, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		res, err := c.PostEventWithResponse(ctx, nil, ev, aqio.WithIdempotencyKey(key))
		return res, aqio.Check(res, err)
	}
	var res *aqio.PostEventResponse
	for attempt := 1; ; attempt++ {
		res, err = post()
		var apiErr *aqio.APIError
		if err == nil || (errors.As(err, &apiErr) && apiErr.StatusCode < 500) || attempt == 5 {
			break // done, or an error a retry cannot fix
		}
		time.Sleep(time.Duration(attempt) * time.Second) // a timeout or 5xx: same key, try again
	}
	if err != nil {
		log.Fatal(err)
	}
	first := res.JSON202
	fmt.Printf("accepted %s (status %d), queued for %d webhook(s)\n", first.Id, res.StatusCode(), len(first.Deliveries))

	// Had the answer been lost, the retry would have looked like this:
	again, err := post()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("repeat: status %d, duplicate %v, same event %v\n", again.StatusCode(), again.JSON200.Duplicate, again.JSON200.Id == first.Id)
}
