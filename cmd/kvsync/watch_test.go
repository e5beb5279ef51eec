//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// TestWatchSIGTERMMidCycle: SIGTERM while a check waits on Konnect
// cancels it, and kvsync watch exits 0 within a second.
func TestWatchSIGTERMMidCycle(t *testing.T) {
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	srv.AddControlPlane("my-control-plane")
	file := filepath.Join(t.TempDir(), "kvsync.yaml")
	content := "_format_version: \"3.0\"\n_konnect:\n  control_plane_name: my-control-plane\nconfig_stores:\n  - name: s\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	arrived, release := srv.Hold("GET", "/config-stores")
	defer release()
	done := make(chan int, 1)
	stderr := &announcer{text: "stopping", seen: make(chan struct{})}
	go func() {
		var out bytes.Buffer
		done <- run([]string{"kvsync", "watch", "--metrics-addr", "127.0.0.1:0", "--interval", "1h", file}, strings.NewReader(""), &out, stderr)
	}()
	wait(t, arrived, "the first check's request")
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after SIGTERM, want 0; stderr:\n%s", code, stderr.buf.String())
		}
	case <-time.After(time.Second):
		t.Fatal("kvsync watch did not exit within a second of SIGTERM")
	}
	if log := stderr.buf.String(); strings.Contains(log, "check failed") || !strings.Contains(log, "stopping") {
		t.Errorf("the stop was not logged as such:\n%s", log)
	}
}
