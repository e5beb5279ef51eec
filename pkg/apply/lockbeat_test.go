package apply_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
)

// TestLockHeartbeat: a lock's heartbeat is refreshed while its run lives;
// a lock whose heartbeat stopped (its holder killed, on any machine) is
// taken over once it is LockStaleAfter old (plus the clock-skew margin of
// a minute), long before the holder's --max-duration; a beating one is
// not. Every time is on a fake clock.
func TestLockHeartbeat(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cp := konnect.ControlPlane{ID: e.cpID, Name: "my-control-plane"}
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := start
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(d time.Duration) { mu.Lock(); now = start.Add(d); mu.Unlock() }
	ticks := make(chan time.Time)
	beaten := make(chan error, 1)
	defer apply.SetLockClock(clock, ticks, func(err error) { beaten <- err })()

	description := func() string {
		t.Helper()
		v, err := e.c.Vaults.Get(ctx, e.cpID, diff.LockPrefix)
		if err != nil || v.Description == nil {
			t.Fatalf("the lock: %v", err)
		}
		return *v.Description
	}
	// A run on another machine takes the lock, for a run of 30 minutes.
	unlockOther, err := apply.LockTakingOver(ctx, e.c, cp, "elsewhere.example pid 7", 30*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "alive 2026-12-03T12:00:00Z"; !strings.HasSuffix(description(), want) {
		t.Fatalf("lock %q, want its heartbeat %q", description(), want)
	}
	// It lives: its heartbeat moves on with each refresh.
	for _, at := range []time.Duration{15 * time.Second, 30 * time.Second, 45 * time.Second} {
		set(at)
		ticks <- start.Add(at)
		if err := <-beaten; err != nil {
			t.Fatalf("refresh at %s: %v", at, err)
		}
	}
	if want := "alive 2026-12-03T12:00:45Z"; !strings.HasSuffix(description(), want) {
		t.Fatalf("lock %q after refreshes, want %q", description(), want)
	}
	// While it beats, another run is refused, however old the lock.
	set(45*time.Second + apply.LockStaleAfter)
	if _, err := apply.LockTakingOver(ctx, e.c, cp, apply.Holder(), time.Hour, nil); !isLocked(err) {
		t.Fatalf("Lock while the holder beats = %v, want a LockedError", err)
	}
	// The holder is killed: no more refreshes. One second short of its
	// heartbeat's bound it still holds; past it, it is taken over, 28
	// minutes before its run's deadline.
	bound := 45*time.Second + apply.LockStaleAfter + time.Minute
	set(bound)
	if _, err := apply.LockTakingOver(ctx, e.c, cp, apply.Holder(), time.Hour, nil); !isLocked(err) {
		t.Fatalf("Lock at the heartbeat's bound = %v, want a LockedError", err)
	}
	set(bound + time.Second)
	var took *apply.LockedError
	unlock, err := apply.LockTakingOver(ctx, e.c, cp, apply.Holder(), time.Hour, func(le *apply.LockedError) { took = le })
	if err != nil || took == nil || took.Holder != "elsewhere.example pid 7" {
		t.Fatalf("Lock past the heartbeat's bound = %v (took over %+v), want it taken over", err, took)
	}
	if !strings.Contains(took.Error(), "alive 2m1s ago") {
		t.Errorf("the takeover does not say when the holder was last alive: %s", took.Error())
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	// The killed run's refreshes end with its release.
	_ = unlockOther()
}

// TestLockDescriptionRoundTrip: a lock written with a heartbeat names its
// holder, times and heartbeat; one written by an older kvsync (no
// heartbeat) is still read, by its deadline alone.
func TestLockDescriptionRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cp := konnect.ControlPlane{ID: e.cpID, Name: "my-control-plane"}
	since := time.Now().Add(-3 * time.Hour).UTC()
	desc := fmt.Sprintf("kvsync lock: held by elsewhere.example pid 1 since %s until %s", since.Format(time.RFC3339), since.Add(4*time.Hour).Format(time.RFC3339))
	if _, err := e.c.Vaults.Create(ctx, e.cpID, konnect.Vault{Name: "env", Prefix: diff.LockPrefix, Description: &desc}); err != nil {
		t.Fatal(err)
	}
	_, err := apply.LockTakingOver(ctx, e.c, cp, apply.Holder(), time.Hour, nil)
	if !isLocked(err) || !strings.Contains(err.Error(), "elsewhere.example pid 1") || strings.Contains(err.Error(), "alive") {
		t.Fatalf("Lock = %v, want a LockedError naming the holder, without a heartbeat", err)
	}
}
