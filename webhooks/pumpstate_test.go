package webhooks

import (
	"testing"
	"time"

	"github.com/aqio/connect/store"
)

// Whether a commit's rows need a dispatcher pass: not when every webhook
// has a live pump here; only a NOTIFY when some pump is of another
// process; a pass when a webhook has no lease, or its lease is of a pump
// of this process that ended since the leases were read.
func TestKickKnowsWhoseRowsTheyAre(t *testing.T) {
	running, gone := "run_a.1.x", "run_b.1.y"
	stop := store.LocalPump(running)
	defer stop()
	store.LocalPump(gone)() // ran here, ended
	p := &pumpState{live: map[string]string{"wh_here": running, "wh_there": "run_c.1.z", "wh_ended": gone}}
	for _, tc := range []struct {
		ids            []string
		leased, remote bool
	}{
		{[]string{"wh_here"}, true, false},
		{[]string{"wh_here", "wh_there"}, true, true},
		{[]string{"wh_here", "wh_none"}, false, false},
		{[]string{"wh_ended"}, false, false},
		{[]string{"wh_there", "wh_ended"}, false, false},
		{nil, false, false},
	} {
		leased, remote := p.leased(tc.ids)
		if leased != tc.leased || (leased && remote != tc.remote) {
			t.Errorf("%v: leased %v remote %v, want %v %v", tc.ids, leased, remote, tc.leased, tc.remote)
		}
	}
}

// A webhook whose pump this dispatcher just started keeps its new rows
// for the pump for pumpStartGrace; after that they are claimed again.
func TestStartingPumpKeepsItsRowsForAWhile(t *testing.T) {
	now := time.Now()
	p := &pumpState{begun: map[string]time.Time{"wh_new": now.Add(-pumpStartGrace / 2), "wh_old": now.Add(-pumpStartGrace)}}
	if got := p.starting(now); len(got) != 1 || got[0] != "wh_new" {
		t.Fatalf("starting = %v, want [wh_new]", got)
	}
	if _, ok := p.begun["wh_old"]; ok {
		t.Fatal("an expired start was kept")
	}
	if got := p.starting(now.Add(pumpStartGrace)); len(got) != 0 {
		t.Fatalf("starting after the grace = %v, want none", got)
	}
}
