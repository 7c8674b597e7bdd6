package providertest

import (
	"context"
	"errors"
	"testing"

	"github.com/aqio/connect/providers"
)

func TestMemLinks(t *testing.T) {
	ctx := context.Background()
	var l MemLinks
	if _, err := l.Get(ctx, "registration", "reg_1"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("get before put: %v, want ErrNotFound", err)
	}
	if err := l.Put(ctx, providers.Link{ObjectType: "registration", ObjectID: "reg_1", ExternalID: "c1"}); err != nil {
		t.Fatal(err)
	}
	_ = l.Put(ctx, providers.Link{ObjectType: "registration", ObjectID: "reg_1", ExternalID: "c2"})
	if got, err := l.Get(ctx, "registration", "reg_1"); err != nil || got.ExternalID != "c2" {
		t.Fatalf("get after put: %+v %v, want the latest link c2", got, err)
	}
	if _, err := l.Get(ctx, "event", "reg_1"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("another type: %v, want ErrNotFound", err)
	}
	l.Delete("registration", "reg_1")
	if _, err := l.Get(ctx, "registration", "reg_1"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("get after delete: %v, want ErrNotFound", err)
	}
}

func TestMemObjects(t *testing.T) {
	ctx := context.Background()
	o := MemObjects{"event/evt_1": {Type: "event", ID: "evt_1"}}
	if got, err := o.Get(ctx, "event", "evt_1"); err != nil || got.ID != "evt_1" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := o.Get(ctx, "registration", "evt_1"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("missing: %v, want ErrNotFound", err)
	}
	if kids, err := o.Children(ctx, "registration", "evt_1"); err != nil || len(kids) != 0 {
		t.Fatalf("children: %v %v", kids, err)
	}
	if n, err := o.CountActive(ctx, "registration", "evt_1"); err != nil || n != 0 {
		t.Fatalf("count: %d %v", n, err)
	}
}
