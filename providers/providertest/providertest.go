// Package providertest holds the in-memory runtime pieces connector tests
// hand a connector in place of the store: idempotency links and Aqio
// objects. Provider-specific harnesses (sessions, fakes, settings) stay in
// each provider's tests.
package providertest

import (
	"context"
	"sync"
	"time"

	"github.com/aqio/connect/providers"
)

// MemLinks is an in-memory providers.Links keyed by object type and id.
// The zero value is ready to use and safe for concurrent use.
type MemLinks struct {
	mu sync.Mutex
	m  map[string]providers.Link
	at map[string]time.Time // when each link was written
	// Now is the clock claims are aged by (nil: time.Now).
	Now func() time.Time
}

var _ providers.Links = (*MemLinks)(nil)

// Get returns providers.ErrNotFound when the object has no link yet.
func (l *MemLinks) Get(_ context.Context, typ, id string) (providers.Link, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.m[typ+"/"+id]
	if !ok {
		return providers.Link{}, providers.ErrNotFound
	}
	return v, nil
}

// Put stores the link, replacing any earlier one of the same object.
func (l *MemLinks) Put(_ context.Context, v providers.Link) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.put(v)
	return nil
}

func (l *MemLinks) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *MemLinks) put(v providers.Link) {
	if l.m == nil {
		l.m, l.at = map[string]providers.Link{}, map[string]time.Time{}
	}
	k := v.ObjectType + "/" + v.ObjectID
	l.m[k], l.at[k] = v, l.now()
}

// Claim stores v when the object has no link, when its link is deleted,
// when its link is a claim (v's status) older than providers.ClaimTimeout, or, replaces set, when
// its link points at replaces; as the store does.
func (l *MemLinks) Claim(_ context.Context, v providers.Link, replaces string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := v.ObjectType + "/" + v.ObjectID
	if prev, ok := l.m[k]; ok {
		stale := prev.Status == v.Status && l.now().Sub(l.at[k]) > providers.ClaimTimeout
		gone := prev.Status == "deleted" || replaces != "" && prev.Status != v.Status && prev.ExternalID == replaces
		if !stale && !gone {
			return false, nil
		}
	}
	l.put(v)
	return true, nil
}

// Delete forgets the object's link, as if it had never been pushed.
func (l *MemLinks) Delete(typ, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, typ+"/"+id)
}

// MemObjects is an in-memory providers.Objects keyed "type/id"
// ("event/evt_1"). It has no children: Children is empty and CountActive 0.
type MemObjects map[string]providers.Object

var _ providers.Objects = MemObjects(nil)

// Get returns providers.ErrNotFound for an object not in the map.
func (o MemObjects) Get(_ context.Context, typ, id string) (providers.Object, error) {
	v, ok := o[typ+"/"+id]
	if !ok {
		return providers.Object{}, providers.ErrNotFound
	}
	return v, nil
}

// Children is always empty.
func (MemObjects) Children(context.Context, string, string) ([]providers.Object, error) {
	return nil, nil
}

// CountActive is always 0.
func (MemObjects) CountActive(context.Context, string, string) (int, error) { return 0, nil }
