package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// TestEchoingServerPrintsNoValue: a server that answers every write with a
// 400 quoting the request body gets secret values, credentials written in
// clear in vault and plugin configs, and substituted values, and kvsync
// prints none of them, in any output format.
func TestEchoingServerPrintsNoValue(t *testing.T) {
	emu := konnecttest.NewServer(konnecttest.Options{Token: testToken})
	t.Cleanup(emu.Close)
	emu.AddControlPlane("my-control-plane")
	target, _ := url.Parse(emu.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var echoed atomic.Int32
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// Reads and the sync's lock go through, so the writes that
		// carry values are the ones that meet the echo.
		if r.Method == http.MethodGet || r.Method == http.MethodDelete || strings.Contains(string(body), `"kvsync-lock"`) {
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			proxy.ServeHTTP(w, r)
			return
		}
		echoed.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"message": %q, "code": 3, "details": [{"field": "x", "messages": [%q]}]}`, "invalid: "+string(body)+" (ask kpat_FAKEechoedTOKEN000000000000)", string(body))
	}))
	t.Cleanup(hostile.Close)

	values := map[string]string{
		"secret literal":          "fake-literal-secret-1111",
		"secret from env":         "fake-env-secret-2222",
		"hcv token literal":       "fake-hcv-token-3333",
		"ai-proxy header literal": "fake-header-4444",
		"redis password literal":  "fake-redis-5555",
		"substituted config":      "fake-substituted-6666",
		"token-shaped text":       "kpat_FAKEechoedTOKEN000000000000",
	}
	file := filepath.Join(t.TempDir(), "kvsync.yaml")
	content := fmt.Sprintf(`_format_version: "3.0"
_konnect:
  control_plane_name: my-control-plane
config_stores:
  - name: s
    secrets:
      - key: a
        value: %s
      - key: b
        value: ${{ env "FAKE_ENV_SECRET" }}
vaults:
  - name: hcv
    prefix: hashi
    config:
      host: vault.internal
      token: %s
plugins:
  - name: ai-proxy
    config:
      route_type: llm/v1/chat
      auth:
        header_name: Authorization
        header_value: Bearer %s
      model:
        provider: mistral
        name: ${{ env "FAKE_SUBSTITUTED" }}
  - name: rate-limiting
    config:
      minute: 5
      policy: redis
      redis:
        host: redis.internal
        password: %s
`, values["secret literal"], values["hcv token literal"], values["ai-proxy header literal"], values["redis password literal"])
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KVSYNC_KONNECT_ADDR", hostile.URL)
	t.Setenv("KVSYNC_KONNECT_TOKEN", testToken)
	t.Setenv("FAKE_ENV_SECRET", values["secret from env"])
	t.Setenv("FAKE_SUBSTITUTED", values["substituted config"])
	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	for _, format := range []string{"text", "json", "markdown"} {
		code, stdout, stderr := runIn(t, "", "sync", "--no-sum", "-o", format, "-v", file)
		if code != exitError {
			t.Errorf("-o %s: exit %d, want 1 (every write refused)", format, code)
		}
		for what, v := range values {
			if strings.Contains(stdout+stderr, v) {
				t.Errorf("-o %s: the output holds the %s", format, what)
			}
		}
	}
	if echoed.Load() == 0 {
		t.Fatal("no write reached the echoing server: the test proves nothing")
	}
	published, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(published), "failed") {
		t.Fatalf("no job summary with the failed sync was written (%v)", err)
	}
	for what, v := range values {
		// Markdown escapes the underscores of what it prints.
		if strings.Contains(string(published), v) || strings.Contains(string(published), strings.ReplaceAll(v, "_", `\_`)) {
			t.Errorf("the job summary holds the %s", what)
		}
	}
}
