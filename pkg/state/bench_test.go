package state

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// largeFile writes a valid file of about size bytes, of one shape: config
// stores of 1,000 secrets each, or plugins with nested configs on routes
// (the heavier per byte), the shapes of the largest control planes kvsync
// is benchmarked on. It stays a record short of size, so that a file of
// the size cap itself is still loaded, not refused.
func largeFile(tb testing.TB, shape string, size int) string {
	tb.Helper()
	size -= 1 << 10
	var b strings.Builder
	b.WriteString("_format_version: \"3.0\"\n_konnect:\n  control_plane_name: cp\n")
	switch shape {
	case "secrets":
		b.WriteString("config_stores:\n")
		for s := 0; b.Len() < size; s++ {
			fmt.Fprintf(&b, "  - name: store-%d\n    secrets:\n", s)
			for k := 0; k < 1000 && b.Len() < size; k++ {
				fmt.Fprintf(&b, "      - key: key-%d\n        value: fake-value-%d-%d-0123456789abcdef0123456789abcdef\n", k, s, k)
			}
		}
	case "plugins":
		b.WriteString("plugins:\n")
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, "  - name: rate-limiting\n    route: route-%d\n    config:\n      minute: %d\n      policy: redis\n      limit_by: consumer\n      fault_tolerant: true\n      redis:\n        host: redis-%d.internal\n        port: 6379\n        timeout: 2000\n        database: 0\n      error_code: 429\n      error_message: API rate limit exceeded\n", i, i%100+1, i)
		}
	}
	path := filepath.Join(tb.TempDir(), "large.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// peakHeap runs f and reports the highest heap in use meanwhile, sampled
// every millisecond, above what was in use before.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
				peak.Store(ms.HeapInuse - base)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// BenchmarkLoadLarge loads files of 1, 4 and 16 MiB of each shape and
// reports, besides the time, the peak heap above what was in use before
// as a multiple of the file's size (peak-x, from one more load, sampled
// every millisecond): the figures behind DefaultMaxFileSize.
//
//	go test -run '^$' -bench LoadLarge -benchtime 1x ./pkg/state
func BenchmarkLoadLarge(b *testing.B) {
	withoutFastParseCheck(b)
	noEnv := LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }}
	for _, shape := range []string{"secrets", "plugins"} {
		for _, mib := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("%s/%dMiB", shape, mib), func(b *testing.B) {
				path := largeFile(b, shape, mib<<20)
				fi, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					if _, err := Load([]string{path}, noEnv); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(mib), "ms/MiB")
				peak := peakHeap(func() {
					if _, err := Load([]string{path}, noEnv); err != nil {
						b.Fatal(err)
					}
				})
				b.ReportMetric(float64(peak)/float64(fi.Size()), "peak-x")
			})
		}
	}
}

// TestLargeValidFileLoads: a valid file of thousands of plugins (more
// nodes than the alias-expansion budget's base) loads: the budget grows
// with the file.
func TestLargeValidFileLoads(t *testing.T) {
	path := largeFile(t, "plugins", 2<<20)
	f, err := Load([]string{path}, LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("a valid file of 2 MiB: %v", err)
	}
	if len(f.Plugins) < 5000 {
		t.Errorf("%d plugins, want the file's thousands", len(f.Plugins))
	}
}

// scaleFile is the file of kvsync-bench's "diff at scale" scenario (its
// desiredYAML): 50 config stores of 1,000 secrets, 100 konnect vaults,
// 10,000 plugins on 5,000 routes with their config as a JSON flow
// mapping, about 3.9 MB.
func scaleFile(tb testing.TB) string {
	tb.Helper()
	const stores, secrets, vaults, plugins, routes = 50, 1000, 100, 10000, 5000
	var b strings.Builder
	b.WriteString("_format_version: \"3.0\"\n_konnect:\n  control_plane_name: bench\nconfig_stores:\n")
	for s := range stores {
		fmt.Fprintf(&b, "  - name: store-%03d\n    secrets:\n", s)
		for k := range secrets {
			fmt.Fprintf(&b, "      - key: key-%04d\n        value: fake-bench-value-%03d-%04d\n", k, s, k)
		}
	}
	b.WriteString("vaults:\n")
	for v := range vaults {
		fmt.Fprintf(&b, "  - name: konnect\n    prefix: vault-%03d\n    config:\n      config_store: store-%03d\n", v, v%stores)
	}
	b.WriteString("plugins:\n")
	for p := range plugins {
		route := (p / 2) % routes
		if p%2 == 0 {
			fmt.Fprintf(&b, "  - name: rate-limiting\n    route: route-%05d\n    config: {\"minute\":%d,\"policy\":\"local\"}\n", route, 10+p%50)
		} else {
			fmt.Fprintf(&b, "  - name: key-auth\n    route: route-%05d\n    config: {\"hide_credentials\":true,\"key_names\":[\"apikey\"]}\n", route)
		}
	}
	path := filepath.Join(tb.TempDir(), "scale.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkLoadScale loads the "diff at scale" file (see scaleFile):
// issue 22's target is 0.3 s and 80 MB allocated per load.
//
//	go test -run '^$' -bench LoadScale -benchmem ./pkg/state
func BenchmarkLoadScale(b *testing.B) {
	withoutFastParseCheck(b)
	path := scaleFile(b)
	noEnv := LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load([]string{path}, noEnv); err != nil {
			b.Fatal(err)
		}
	}
}

// withoutFastParseCheck leaves out the tests' comparison of every fast
// parse with yaml.v3's (see fastparse_test.go), which a benchmark would
// measure too.
func withoutFastParseCheck(b *testing.B) {
	check := fastParseCheck
	fastParseCheck = nil
	b.Cleanup(func() { fastParseCheck = check })
}
