package apply_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
)

func TestLock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cp := konnect.ControlPlane{ID: e.cpID, Name: "my-control-plane"}
	host, _ := os.Hostname()
	leave := func(holder string, since, until time.Time) {
		t.Helper()
		desc := fmt.Sprintf("kvsync lock: held by %s since %s", holder, since.UTC().Format(time.RFC3339))
		if !until.IsZero() {
			desc += " until " + until.UTC().Format(time.RFC3339)
		}
		if _, err := e.c.Vaults.Create(ctx, e.cpID, konnect.Vault{Name: "env", Prefix: diff.LockPrefix, Description: &desc}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	gone := strings.Replace(apply.Holder(), fmt.Sprintf(" pid %d", os.Getpid()), fmt.Sprintf(" pid %d", 1<<30), 1)
	tests := []struct {
		name         string
		holder       string
		since, until time.Time
		takeOver     bool
	}{
		{"a live run holds it", apply.Holder(), now, now.Add(time.Hour), false},
		{"another host's run holds it", "elsewhere.example pid 1", now, now.Add(time.Hour), false},
		{"its run's process has ended", gone, now, now.Add(time.Hour), true},
		{"a process of another pid namespace", fmt.Sprintf("%s pid %d (pid:[1])", host, 1<<30), now, now.Add(time.Hour), false},
		{"a process of another boot of a machine of this name", strings.Replace(gone, " boot ", " boot 0", 1), now, now.Add(time.Hour), false},
		{"a process of an unknown pid namespace", fmt.Sprintf("%s pid %d", host, 1<<30), now, now.Add(time.Hour), false},
		{"past its run's deadline", "elsewhere.example pid 1", now.Add(-10 * time.Minute), now.Add(-5 * time.Minute), true},
		{"a long run within its own deadline", "elsewhere.example pid 1", now.Add(-2 * time.Hour), now.Add(time.Hour), false},
		{"no deadline, older than a run may take", "elsewhere.example pid 1", now.Add(-2 * time.Hour), time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "its run's process has ended" && !strings.Contains(tt.holder, " boot ") {
				t.Skip("this system names no pid namespace: a holder's process is never judged ended")
			}
			leave(tt.holder, tt.since, tt.until)
			var took *apply.LockedError
			unlock, err := apply.LockTakingOver(ctx, e.c, cp, apply.Holder(), time.Hour, func(le *apply.LockedError) { took = le })
			if !tt.takeOver {
				if le := (*apply.LockedError)(nil); !errors.As(err, &le) {
					t.Fatalf("Lock = %v, want a LockedError", err)
				}
				if err := apply.Unlock(ctx, e.c, cp); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err != nil || took == nil || took.Holder != tt.holder {
				t.Fatalf("Lock = %v (took over %+v), want the lock taken over from %s", err, took, tt.holder)
			}
			// It is ours now: a second run is refused, and release frees it.
			var le *apply.LockedError
			if _, err := apply.LockTakingOver(ctx, e.c, cp, apply.Holder(), time.Hour, nil); !errors.As(err, &le) {
				t.Errorf("a second Lock = %v, want a LockedError", err)
			}
			if err := unlock(); err != nil {
				t.Fatal(err)
			}
			again, err := apply.LockTakingOver(ctx, e.c, cp, apply.Holder(), time.Hour, nil)
			if err != nil {
				t.Fatalf("Lock after release: %v", err)
			}
			_ = again()
		})
	}
}

// isLocked reports a LockedError.
func isLocked(err error) bool {
	var le *apply.LockedError
	return errors.As(err, &le)
}
