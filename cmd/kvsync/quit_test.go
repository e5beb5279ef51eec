//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// TestDoubleInterruptReleasesTheLock: a second Ctrl-C while a write hangs
// ends the process at once (exit 130), and releases the control plane's
// lock on its way out: the next run need not wait for it to go stale.
func TestDoubleInterruptReleasesTheLock(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	srv.AddControlPlane("my-control-plane")
	cpID := srv.ControlPlaneID("my-control-plane")
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	client, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: testToken, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	lockHeld := func() bool {
		_, err := client.Vaults.Get(context.Background(), cpID, diff.LockPrefix)
		if err != nil && !konnect.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}

	type exit struct {
		code     int
		lockHeld bool
	}
	exited := make(chan exit, 1)
	defer func(was func(int)) { exitNow = was }(exitNow)
	exitNow = func(code int) {
		exited <- exit{code, lockHeld()}
		runtime.Goexit() // the process would end here
	}

	file := storesFile(t, 1)
	arrived, release := srv.Hold("POST", "/config-stores")
	defer release()
	stderr := &announcer{text: "starting nothing new", seen: make(chan struct{})}
	done := make(chan int, 1)
	go func() {
		var out bytes.Buffer
		done <- run([]string{"kvsync", "sync", file}, strings.NewReader(""), &out, stderr)
	}()
	wait(t, arrived, "the store's create")
	if !lockHeld() {
		t.Fatal("the sync writes without its lock")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	wait(t, stderr.seen, "the first interrupt's announcement")
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-exited:
		if e.code != 130 || e.lockHeld {
			t.Errorf("second interrupt: exit %d, lock still held %v; want 130 and the lock released", e.code, e.lockHeld)
		}
	case <-timeout():
		t.Fatal("the second interrupt did not end the process")
	}
	release()
	select {
	case <-done:
	case <-timeout():
		t.Fatal("the run did not end once its write was released")
	}
	if !strings.Contains(stderr.buf.String(), "interrupted again: quitting now, releasing the lock first") {
		t.Errorf("the second interrupt does not say what it does:\n%s", stderr.buf.String())
	}
}
