package apply

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
)

// A run refreshes its lock's heartbeat ("alive TIME" in the lock) every
// LockRefresh while it lives. Another run judges the lock by it: a lock
// whose heartbeat is older than LockStaleAfter (plus clockSkew, for clocks
// of two runners that disagree a little) belongs to a run that has ended
// without releasing it (killed, its runner gone), and is taken over. A
// killed holder's lock is thus free about LockStaleAfter + clockSkew
// after it died (2 minutes), not after the run's whole --max-duration.
//
// Clock skew: the heartbeat is the holder's clock, read by another
// runner's. A reader whose clock runs ahead by more than the margin sees a
// live lock as stale and takes it over (two runs may then both write; the
// next plan deletes an empty duplicate store); one whose clock runs behind
// waits that much longer for a dead lock.
const (
	LockRefresh    = 15 * time.Second
	LockStaleAfter = time.Minute
)

// lockNow is the clock of the lock's times; lockTicks the refresh's ticker
// (tests replace both).
var (
	lockNow   = time.Now
	lockTicks = func() (<-chan time.Time, func()) {
		t := time.NewTicker(LockRefresh)
		return t.C, t.Stop
	}
	// lockBeaten, when set, is told of each refresh's outcome (tests).
	lockBeaten func(error)
)

// lockVault is the lock's vault for holder.
func lockVault(holder string, since, until, alive time.Time) konnect.Vault {
	desc := fmt.Sprintf(lockDescription, holder, since.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339), alive.UTC().Format(time.RFC3339))
	return konnect.Vault{Name: "env", Prefix: diff.LockPrefix, Description: &desc,
		Config: map[string]any{"prefix": "KVSYNC_LOCK_UNUSED_"}, Tags: []string{diff.LockPrefix}}
}

// beatLock refreshes the heartbeat of the lock v until the returned
// function is called (which waits for a refresh under way). A refresh
// that fails is tried again on the next tick: a run that cannot reach
// Konnect for a minute stops soon anyway.
func beatLock(c *konnect.Client, cp konnect.ControlPlane, v konnect.Vault, holder string, since, until time.Time) func() {
	ticks, stopTicks := lockTicks()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-ticks:
			}
			beat := lockVault(holder, since, until, lockNow())
			beat.ID = v.ID
			ctx, cancel := context.WithTimeout(context.Background(), LockRefresh)
			_, err := c.Vaults.Upsert(ctx, cp.ID, beat)
			cancel()
			if lockBeaten != nil {
				lockBeaten(err)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			stopTicks()
			close(done)
			wg.Wait()
		})
	}
}
