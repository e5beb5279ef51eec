//go:build watchtools

// The watch command with the real tools a user runs it with, from Debian's
// packages (make test-watch installs them and runs this file): promtool
// checks the metrics and the example alert rules, a Prometheus server
// scrapes the kvsync binary and answers a query, and headless Chromium
// renders the status page in its three states into PNGs kept under
// artifacts/watch (gitignored). A missing tool fails the test, saying
// why.

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

const toolCanary = "canary-tools-value-93e1"

// tool returns the path of a Debian package's program, or fails the test.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: `make test-watch` installs it (apt-get install %s); this test cannot run without it", name, pkg)
	}
	return path
}

// watched is a kvsync watch process against an in-process emulator.
type watched struct {
	t    *testing.T
	srv  *konnecttest.Server
	cpID string
	addr string // the watch's listen address
	dir  string
}

func startWatch(t *testing.T) *watched {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kvsync")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(srv.Close)
	w := &watched{t: t, srv: srv, cpID: srv.AddControlPlane("payments-prod"), dir: t.TempDir()}
	file := filepath.Join(w.dir, "kvsync.yaml")
	content := `_format_version: "3.0"
_konnect:
  control_plane_name: payments-prod
config_stores:
  - name: payments
    secrets:
      - key: stripe-key
        value: ${{ env "STRIPE_KEY" }}
      - key: db-password
        value: ${{ env "STRIPE_KEY" }}
vaults:
  - name: konnect
    prefix: payments
    description: payments secrets
    config:
      config_store: payments
`
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(w.dir, "token")
	if err := os.WriteFile(tokenFile, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "KVSYNC_KONNECT_ADDR="+srv.URL, "KVSYNC_KONNECT_TOKEN_FILE="+tokenFile, "STRIPE_KEY="+toolCanary)
	sync := exec.Command(bin, "sync", file)
	sync.Env = env
	if out, err := sync.CombinedOutput(); err != nil {
		t.Fatalf("kvsync sync: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "watch", "--interval", "300ms", "--jitter", "0", "--log-format", "json",
		"--metrics-addr", "127.0.0.1:0", "--unreachable-after", "100ms", "--timeout", "2s", file)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		var entry struct{ Msg, Listen string }
		if json.Unmarshal(lines.Bytes(), &entry) == nil && entry.Msg == "watching" {
			w.addr = entry.Listen
			break
		}
	}
	if w.addr == "" {
		t.Fatal("kvsync watch did not say where it listens")
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	return w
}

func (w *watched) get(path string) string {
	w.t.Helper()
	resp, err := http.Get("http://" + w.addr + path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// waitFor polls a condition on the watch's metrics until it holds: the
// watch checks every 300ms, and this waits for its counters, not for time.
func (w *watched) waitFor(what string, ok func(metrics string) bool) {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ok(w.get("/metrics")) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("%s: not within 60s", what)
}

func has(series string) func(string) bool {
	return func(m string) bool { return strings.Contains(m, "\n"+series+"\n") }
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestWatchWithRealTools(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	prometheus := tool(t, "prometheus", "prometheus")
	chromium := tool(t, "chromium", "chromium")
	w := startWatch(t)
	w.waitFor("a first check in sync", has(`kvsync_in_sync{control_plane="payments-prod"} 1`))

	t.Run("promtool check metrics", func(t *testing.T) {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(w.get("/metrics"))
		if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})
	t.Run("promtool check rules", func(t *testing.T) {
		out, err := exec.Command(promtool, "check", "rules", "../../examples/watch/alerts.yaml").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool check rules: %v\n%s", err, out)
		}
	})
	t.Run("prometheus scrapes", func(t *testing.T) {
		dir := t.TempDir()
		config := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: kvsync-watch\n    static_configs:\n      - targets: [%q]\n", w.addr)
		if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		web := freePort(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		srv := exec.CommandContext(ctx, prometheus, "--config.file="+filepath.Join(dir, "prometheus.yml"),
			"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+web, "--log.level=warn")
		logs, err := os.Create(filepath.Join(dir, "prometheus.log"))
		if err != nil {
			t.Fatal(err)
		}
		srv.Stdout, srv.Stderr = logs, logs
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); _ = srv.Wait() }()
		query := "http://" + web + "/api/v1/query?query=" + url.QueryEscape(`kvsync_in_sync{job="kvsync-watch"}`)
		deadline := time.Now().Add(90 * time.Second)
		var last string
		for time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond) // polls Prometheus' API until its first scrapes are in
			resp, err := http.Get(query)
			if err != nil {
				last = err.Error()
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(body)
			var answer struct {
				Status string
				Data   struct {
					Result []struct {
						Metric map[string]string
						Value  [2]any
					}
				}
			}
			if json.Unmarshal(body, &answer) != nil || answer.Status != "success" || len(answer.Data.Result) != 1 {
				continue
			}
			r := answer.Data.Result[0]
			if r.Metric["control_plane"] == "payments-prod" && r.Value[1] == "1" {
				return
			}
		}
		out, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
		t.Fatalf("Prometheus never returned the in-sync series; last answer %s\nlog:\n%s", last, out)
	})
	t.Run("status page in chromium", func(t *testing.T) {
		artifacts, err := filepath.Abs("../../artifacts/watch")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(artifacts, 0o755); err != nil {
			t.Fatal(err)
		}
		shoot := func(name string, badge color.RGBA) {
			t.Helper()
			png := filepath.Join(artifacts, name+".png")
			_ = os.Remove(png)
			profile := t.TempDir()
			cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
				"--user-data-dir="+profile, "--window-size=412,915", "--screenshot="+png, "http://"+w.addr+"/")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("chromium: %v\n%s", err, out)
			}
			if n := countColor(t, png, badge); n < 100 {
				t.Errorf("%s: the page rendered has %d pixels of its state's colour %v: the badge is not there", png, n, badge)
			}
			t.Logf("%s rendered", png)
		}
		w.waitFor("in sync", has(`kvsync_in_sync{control_plane="payments-prod"} 1`))
		shoot("in-sync", color.RGBA{0x1a, 0x7f, 0x37, 0xff})

		c, err := konnect.New(konnect.Options{BaseURL: w.srv.URL, Token: testToken, NoPacing: true})
		if err != nil {
			t.Fatal(err)
		}
		stores, err := c.ConfigStores.List(context.Background(), w.cpID, nil)
		if err != nil || len(stores) != 1 {
			t.Fatalf("stores %v: %v", stores, err)
		}
		if err := c.Secrets.Delete(context.Background(), w.cpID, stores[0].ID, "db-password"); err != nil {
			t.Fatal(err)
		}
		w.waitFor("drift", has(`kvsync_in_sync{control_plane="payments-prod"} 0`))
		page := w.get("/")
		if strings.Contains(page, toolCanary) || !strings.Contains(page, "create secret payments/db-password") {
			t.Errorf("the drifted page does not show the plan, or shows a value")
		}
		shoot("drifted", color.RGBA{0xbf, 0x87, 0x00, 0xff})

		w.srv.SetFaults(konnecttest.Faults{Rules: []konnecttest.FaultRule{{PathContains: "/v2/", Status: 503}}})
		w.waitFor("failing", has(`kvsync_check_failing{control_plane="payments-prod"} 1`))
		shoot("failing", color.RGBA{0xcf, 0x22, 0x2e, 0xff})
		w.srv.SetFaults(konnecttest.Faults{})
		w.waitFor("recovered", has(`kvsync_check_failing{control_plane="payments-prod"} 0`))
	})
	if m := w.get("/metrics"); strings.Contains(m, toolCanary) || strings.Contains(m, testToken) {
		t.Error("the metrics hold a value or the token")
	}
}

// countColor counts the pixels of exactly colour c in a PNG.
func countColor(t *testing.T, path string, c color.RGBA) int {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == c.R && uint8(g>>8) == c.G && uint8(bl>>8) == c.B {
				n++
			}
		}
	}
	return n
}
