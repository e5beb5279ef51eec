package apply

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
)

// Two runs on one control plane must not both create: each would create
// the config stores the other creates (Konnect does not keep store names
// unique). So a run that writes first takes a lock that Konnect itself
// enforces: a vault whose prefix is diff.LockPrefix. Vault prefixes are
// unique in a control plane, so of two runs creating it at once exactly
// one wins; the other is told who holds it and since when. The vault is an
// env vault that reads nothing anyone sets, carries no select tag, and
// kvsync leaves it out of every plan. It is removed when the run ends.

// lockDescription is how a lock says who holds it, since when, until when
// its run may last (the holder's own --max-duration: another run with a
// shorter one must not think a long run over) and when its run was last
// seen alive (its heartbeat, see lockbeat.go).
const lockDescription = "kvsync lock: held by %s since %s until %s alive %s"

// LockedError is the error of Lock when another run holds the lock.
type LockedError struct {
	ControlPlane string
	Holder       string
	Since        time.Time
	// Until is when the holder's run must have ended (zero when the lock
	// does not say).
	Until time.Time
	// Alive is the holder's last heartbeat (zero when the lock has none:
	// a kvsync from before heartbeats).
	Alive time.Time
	// Stale is set when the lock has outlived its run's deadline, or its
	// heartbeat stopped: the run that took it has ended without removing
	// it.
	Stale bool
}

func (e *LockedError) Error() string {
	age := "unknown age"
	if !e.Since.IsZero() {
		age = "taken " + lockNow().Sub(e.Since).Round(time.Second).String() + " ago"
	}
	if !e.Until.IsZero() {
		age += ", to end by " + e.Until.UTC().Format(time.RFC3339)
	}
	if !e.Alive.IsZero() {
		age += ", alive " + lockNow().Sub(e.Alive).Round(time.Second).String() + " ago"
	}
	msg := fmt.Sprintf("control plane %s is locked by another kvsync run (%s, %s)", e.ControlPlane, e.Holder, age)
	if e.Stale {
		return msg + ": its heartbeat has stopped, or it has outlived the longest its run may take, so that run has ended without releasing it; remove it with `kvsync unlock` and run again"
	}
	return msg + ": wait for it to end and run again (if no run is going on, `kvsync unlock` removes the lock)"
}

// LockTakingOver takes the control plane's lock for holder (a host and
// process, for the message another run shows). maxAge is how long this run
// may take at most, written in the lock; a lock past its own deadline (or,
// when it names none, older than maxAge) is reported as stale. A lock whose
// run has ended is taken over, calling onTakeOver (when set) with what it
// found. The returned function releases the lock; it works on a context of
// its own, so that an interrupted or timed-out run still releases it.
//
// An interrupt (ctx done) stops what has not been sent, but not a request
// on the wire: Konnect may have made the lock by then, and only its answer
// says so; a lock taken that way is returned (the caller releases it),
// never left behind unreleased.
func LockTakingOver(ctx context.Context, c *konnect.Client, cp konnect.ControlPlane, holder string, maxAge time.Duration, onTakeOver func(*LockedError)) (func() error, error) {
	return lock(konnect.WithStop(context.WithoutCancel(ctx), ctx.Done()), c, cp, holder, maxAge, onTakeOver)
}

func lock(ctx context.Context, c *konnect.Client, cp konnect.ControlPlane, holder string, maxAge time.Duration, onTakeOver func(*LockedError)) (unlock func() error, err error) {
	now := lockNow().UTC()
	held := lockVault(holder, now, now.Add(maxAge), now)
	held.ID = konnect.NewUUID()
	// A PUT at a fresh id creates the vault, or fails on the prefix that
	// another run's lock holds: the same exclusion as a POST.
	v, err := c.Vaults.Upsert(ctx, cp.ID, held)
	if konnect.IsConflict(err) {
		held, gerr := c.Vaults.Get(ctx, cp.ID, diff.LockPrefix)
		if gerr != nil {
			return nil, fmt.Errorf("control plane %s is locked by another kvsync run, which could not be read: %w", cp.Name, gerr)
		}
		le := &LockedError{ControlPlane: cp.Name, Holder: "holder unknown"}
		if held.Description != nil {
			if h, since, until, alive, ok := parseLock(*held.Description); ok {
				le.Holder, le.Since, le.Until, le.Alive = h, since, until, alive
			}
		}
		if le.Since.IsZero() && held.CreatedAt > 0 {
			le.Since = time.Unix(held.CreatedAt, 0)
		}
		deadline := le.Until
		if deadline.IsZero() && !le.Since.IsZero() {
			deadline = le.Since.Add(maxAge)
		}
		if !le.Alive.IsZero() {
			// A run that beats is judged by its heartbeat: once it has
			// missed several, it has ended (killed, its runner gone).
			if beat := le.Alive.Add(LockStaleAfter); deadline.IsZero() || beat.Before(deadline) {
				deadline = beat
			}
		}
		// The margin covers clocks of two machines that disagree a little.
		le.Stale = !deadline.IsZero() && lockNow().Sub(deadline) > clockSkew
		if !le.Stale && !holderEnded(le.Holder) {
			return nil, le
		}
		// The run that took it has ended (its process is gone, or it is
		// older than a run may take): take the lock over, once.
		if err := c.Vaults.Delete(ctx, cp.ID, held.ID); err != nil {
			return nil, le
		}
		unlock, err := lock(ctx, c, cp, holder, maxAge, nil)
		if err == nil && onTakeOver != nil {
			onTakeOver(le)
		}
		return unlock, err
	}
	if err != nil {
		return nil, fmt.Errorf("taking the lock of control plane %s: %w", cp.Name, err)
	}
	stopBeat := beatLock(c, cp, *v, holder, now, now.Add(maxAge))
	return func() error {
		stopBeat()
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Vaults.Delete(rctx, cp.ID, v.ID); err != nil {
			return fmt.Errorf("releasing the lock of control plane %s (remove it with `kvsync unlock`): %w", cp.Name, err)
		}
		return nil
	}, nil
}

// Unlock removes a control plane's lock, whoever holds it.
func Unlock(ctx context.Context, c *konnect.Client, cp konnect.ControlPlane) error {
	err := c.Vaults.Delete(ctx, cp.ID, diff.LockPrefix)
	if err != nil && !konnect.IsNotFound(err) {
		return fmt.Errorf("removing the lock of control plane %s: %w", cp.Name, err)
	}
	return nil
}

// clockSkew is how far past its deadline a lock must be to count as stale.
const clockSkew = time.Minute

// parseLock reads a lock's description; until and alive are zero when it
// names no deadline or heartbeat.
func parseLock(desc string) (holder string, since, until, alive time.Time, ok bool) {
	rest, found := strings.CutPrefix(desc, "kvsync lock: held by ")
	if !found {
		return "", time.Time{}, time.Time{}, time.Time{}, false
	}
	if i := strings.LastIndex(rest, " alive "); i >= 0 {
		if t, err := time.Parse(time.RFC3339, rest[i+len(" alive "):]); err == nil {
			rest, alive = rest[:i], t
		}
	}
	if i := strings.LastIndex(rest, " until "); i >= 0 {
		if t, err := time.Parse(time.RFC3339, rest[i+len(" until "):]); err == nil {
			rest, until = rest[:i], t
		}
	}
	i := strings.LastIndex(rest, " since ")
	if i < 0 {
		return "", time.Time{}, time.Time{}, time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, rest[i+len(" since "):])
	if err != nil {
		return "", time.Time{}, time.Time{}, time.Time{}, false
	}
	return rest[:i], t, until, alive, true
}

// Holder names this process for a lock: host, process id and, where the
// system tells, the process id namespace (containers on one host, or with
// one host name, number their processes each from 1).
func Holder() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown host"
	}
	h := fmt.Sprintf("%s pid %d", host, os.Getpid())
	if ns := pidNamespace(); ns != "" {
		h += " (" + ns + ")"
	}
	return h
}

// holderEnded reports whether a lock's holder is a process of this host
// and pid namespace that no longer runs: a run cut off (an outage, a kill)
// left the lock. A holder whose namespace is not ours (or not known) may
// run where no signal of ours reaches: it is never judged ended.
func holderEnded(holder string) bool {
	host, rest, ok := strings.Cut(holder, " pid ")
	if me, err := os.Hostname(); !ok || err != nil || host != me {
		return false
	}
	pidText, ns, _ := strings.Cut(rest, " (")
	if mine := pidNamespace(); mine == "" || ns != mine+")" {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	return !processAlive(pid)
}
