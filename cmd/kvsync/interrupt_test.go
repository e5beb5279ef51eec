//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// announcer is a stderr that tells, on a channel, when a text was written.
type announcer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	text string
	seen chan struct{}
	once sync.Once
}

func (a *announcer) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buf.Write(p)
	if strings.Contains(a.buf.String(), a.text) {
		a.once.Do(func() { close(a.seen) })
	}
	return len(p), nil
}

// TestInterruptRecordsWhatWasWritten interrupts a sync of four rotated
// secrets while the third write is on the wire: that write finishes, the
// fourth never starts, and kvsync.sum records the three values written and
// nothing else, so that the next plan writes only the fourth. Every step
// waits on a channel, none on time.
func TestInterruptRecordsWhatWasWritten(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	srv.AddControlPlane("my-control-plane")
	dir := t.TempDir()
	file := filepath.Join(dir, "kvsync.yaml")
	content := "_format_version: \"3.0\"\n_konnect:\n  control_plane_name: my-control-plane\nconfig_stores:\n  - name: s\n    secrets:\n"
	for _, k := range []string{"a", "b", "c", "d"} {
		content += "      - key: " + k + "\n        value: ${{ env \"V_" + strings.ToUpper(k) + "\" }}\n"
	}
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	setValues := func(v string) {
		for _, k := range []string{"A", "B", "C", "D"} {
			t.Setenv("V_"+k, "fake-"+k+"-"+v)
		}
	}
	setValues("0")
	if code, _, stderr := runIn(t, "", "sync", file); code != exitOK {
		t.Fatalf("first sync: exit %d: %s", code, stderr)
	}

	setValues("1")
	arrived, release := srv.Hold("PUT", "/secrets/c")
	defer release()
	stderr := &announcer{text: "starting nothing new", seen: make(chan struct{})}
	done := make(chan int, 1)
	go func() {
		var out bytes.Buffer
		done <- run([]string{"kvsync", "sync", "--parallelism", "1", file}, strings.NewReader(""), &out, stderr)
	}()
	wait := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not happen within 30s", what)
		}
	}
	wait(arrived, "the write of c")
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	wait(stderr.seen, "the interrupt's announcement")
	release()
	var code int
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the interrupted sync did not end within 30s")
	}
	if code != exitError || !strings.Contains(stderr.buf.String(), "sync interrupted: 1 not started") {
		t.Fatalf("interrupted sync: exit %d, stderr %q", code, stderr.buf.String())
	}

	// The values written are the new ones for a, b, c, the old one for d.
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: testToken, NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	cpID := srv.ControlPlaneID("my-control-plane")
	stores, err := c.ConfigStores.List(context.Background(), cpID, nil)
	if err != nil || len(stores) != 1 {
		t.Fatalf("stores: %v %v", stores, err)
	}
	for k, want := range map[string]string{"a": "fake-A-1", "b": "fake-B-1", "c": "fake-C-1", "d": "fake-D-0"} {
		if got, _ := srv.SecretValue(cpID, stores[0].ID, k); got != want {
			t.Errorf("secret %s does not hold the value expected after the interrupt", k)
		}
	}
	// The next plan writes d alone: the sum recorded exactly a, b and c.
	code, stdout, _ := runIn(t, "", "diff", "--exit-code", file)
	if code != exitChanges || !strings.Contains(stdout, "~ update secret s/d (value changed)") ||
		strings.Count(stdout, "~ update secret") != 1 {
		t.Errorf("plan after the interrupt (exit %d):\n%s", code, stdout)
	}
}

func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-timeout():
		t.Fatalf("%s did not happen", what)
	}
}

// timeout bounds a test's waits: a hang fails the test instead of blocking
// it; nothing here waits for time to pass.
func timeout() <-chan time.Time { return time.After(60 * time.Second) }
