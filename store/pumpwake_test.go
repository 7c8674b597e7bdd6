package store

import "testing"

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// A commit wakes the pumps of the webhooks it wrote rows for, not every
// pump of the process; a notification from another process wakes all.
func TestOutboxWakeIsPerWebhook(t *testing.T) {
	a, b := OutboxWake("wh_wake_a"), OutboxWake("wh_wake_b")
	if a == b {
		t.Fatal("two webhooks share one wake channel")
	}
	if OutboxWake("wh_wake_a") != a {
		t.Fatal("a second wait for the same webhook got another channel")
	}
	NotifyOutboxFor([]string{"wh_wake_a", "wh_nobody_waits"})
	if !closed(a) || closed(b) {
		t.Fatalf("after a commit for a: a woken %v (want true), b woken %v (want false)", closed(a), closed(b))
	}
	a2 := OutboxWake("wh_wake_a")
	if closed(a2) {
		t.Fatal("the next wait for a is already woken")
	}
	NotifyOutbox()
	if !closed(a2) || !closed(b) {
		t.Fatalf("a NOTIFY from another process: a woken %v, b woken %v (want both)", closed(a2), closed(b))
	}
}
