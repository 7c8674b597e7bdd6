package listen

import "sync"

// Broker wakes waiters in this process at once when a message for them is
// written (a new request for a stream, an answer for an attempt). Waiters
// also poll the database, so a Broker only shortens the wait when the
// writer and the waiter share a process (`dev`, one api+worker process);
// across processes the poll carries the message.
type Broker struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// NewBroker returns an empty broker.
func NewBroker() *Broker { return &Broker{subs: map[string]map[chan struct{}]struct{}{}} }

// Subscribe returns a channel that receives after Notify(key), and a
// function that ends the subscription.
func (b *Broker) Subscribe(key string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	if b == nil {
		return ch, func() {}
	}
	b.mu.Lock()
	if b.subs[key] == nil {
		b.subs[key] = map[chan struct{}]struct{}{}
	}
	b.subs[key][ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs[key], ch)
		if len(b.subs[key]) == 0 {
			delete(b.subs, key)
		}
		b.mu.Unlock()
	}
}

// Notify wakes every subscriber of key (without blocking).
func (b *Broker) Notify(key string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[key] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// SessionKey and MessageKey name what Notify wakes: a session's streams
// (a new message) and the attempt waiting for a message (its answer).
func SessionKey(id string) string { return "session:" + id }
func MessageKey(id string) string { return "message:" + id }
