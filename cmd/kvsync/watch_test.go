//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	signalled := time.Now()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		// The figure behind "within a second" (README), measured, not
		// asserted: a loaded machine must not turn the test red.
		t.Logf("kvsync watch exited %s after SIGTERM", time.Since(signalled).Round(time.Millisecond))
		if code != exitOK {
			t.Errorf("exit %d after SIGTERM, want 0; stderr:\n%s", code, stderr.buf.String())
		}
	case <-time.After(10 * time.Second):
		// Well before the request's 30s --timeout would have ended the
		// check: the signal, not the timeout, stopped it; and loose
		// enough for a loaded machine.
		t.Fatal("kvsync watch did not exit within 10s of SIGTERM")
	}
	if log := stderr.buf.String(); strings.Contains(log, "check failed") || !strings.Contains(log, "stopping") {
		t.Errorf("the stop was not logged as such:\n%s", log)
	}
}

// logWatcher is a stderr that collects kvsync watch's JSON log and closes
// checked once n "checked" lines were written.
type logWatcher struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	listen  string
	n       int
	checked chan struct{}
	once    sync.Once
}

func (l *logWatcher) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for _, line := range bytes.Split(p, []byte("\n")) {
		var entry struct{ Msg, Listen string }
		if json.Unmarshal(line, &entry) != nil {
			continue
		}
		switch entry.Msg {
		case "watching":
			l.listen = entry.Listen
		case "checked":
			if l.n--; l.n == 0 {
				l.once.Do(func() { close(l.checked) })
			}
		}
	}
	return len(p), nil
}

func (l *logWatcher) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestWatchEnvironments: with --environments, every environment's
// control plane is checked each cycle, each with its own values and
// kvsync.sum, and each has its series and its section on the page.
func TestWatchEnvironments(t *testing.T) {
	_, envFile := environmentsExample(t)
	var out, errOut bytes.Buffer
	if code := run([]string{"kvsync", "sync", "--environments", envFile}, strings.NewReader(""), &out, &errOut); code != exitOK {
		t.Fatalf("sync: exit %d\n%s", code, errOut.String())
	}
	logs := &logWatcher{n: 3, checked: make(chan struct{})}
	secrets := []string{"fake-dev-0001", "fake-staging-0002", "fake-prod-0003", "kpat_test_fake_0000"}
	// shown is the log for a failure message: never with a value in it.
	shown := func() string {
		log := logs.String()
		for _, s := range secrets {
			log = strings.ReplaceAll(log, s, "(value)")
		}
		return log
	}
	done := make(chan int, 1)
	go func() {
		var out bytes.Buffer
		done <- run([]string{"kvsync", "watch", "--environments", envFile, "--log-format", "json", "--metrics-addr", "127.0.0.1:0", "--interval", "1h"},
			strings.NewReader(""), &out, logs)
	}()
	select {
	case <-logs.checked:
	case code := <-done:
		t.Fatalf("kvsync watch exited %d:\n%s", code, shown())
	case <-timeout():
		t.Fatalf("three checks did not happen:\n%s", shown())
	}
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get("http://" + logs.listen + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	metrics, page := get("/metrics"), get("/")
	for _, env := range []string{"dev", "staging", "prod"} {
		if !strings.Contains(metrics, "\nkvsync_in_sync{control_plane=\""+env+"\"} 1\n") {
			t.Errorf("control plane %s is not in sync in the metrics", env)
		}
		if !strings.Contains(page, env+": "+env) {
			t.Errorf("the page has no section for environment %s", env)
		}
		if !strings.Contains(logs.String(), `"control_plane":"`+env+`","environment":"`+env+`"`) {
			t.Errorf("no log line names environment %s", env)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(metrics+page+logs.String(), secret) {
			t.Error("a value or the token shows in the metrics, the page or the log")
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after SIGTERM", code)
		}
	case <-timeout():
		t.Fatal("kvsync watch did not stop")
	}
}
