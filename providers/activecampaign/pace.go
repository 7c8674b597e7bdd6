package activecampaign

import (
	"context"
	"sync"
	"time"
)

// perSecond is ActiveCampaign's budget: 5 requests per second per
// account, whichever key or integration sends them.
const perSecond = 5

// pacer spaces requests to one account within this worker process, so
// pushes and syncs rarely meet a 429; the ones that still do (other
// workers, other tools on the account) wait Retry-After. The gap is a
// quarter above 1/perSecond: requests spaced exactly 200 ms apart still
// put a sixth into some one-second window once network jitter reorders
// their arrival.
func gap() time.Duration { return time.Second / perSecond * 5 / 4 }

// pacer spaces requests per account (see gap).
type pacer struct {
	mu    sync.Mutex
	next  map[string]time.Time // account API URL → earliest next send
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

func newPacer() *pacer {
	return &pacer{next: map[string]time.Time{}, now: time.Now, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait blocks until account may send its next request.
func (p *pacer) wait(ctx context.Context, account string) error {
	gap := gap()
	p.mu.Lock()
	now := p.now()
	at := p.next[account]
	if at.Before(now) {
		at = now
	}
	p.next[account] = at.Add(gap)
	if len(p.next) > 10000 { // forget idle accounts
		for k, v := range p.next {
			if v.Before(now) {
				delete(p.next, k)
			}
		}
	}
	p.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return p.sleep(ctx, d)
	}
	return nil
}
