//go:build soak

package watch_test

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// TestSoak (make soak-watch, not part of make test): 200 cycles, one every
// 250ms, against an emulator answering 5% of requests 5xx and rate
// limiting to 8 requests a second, with a 30 s outage from cycle 40. The
// status page and the metrics are fetched every cycle. Goroutines must not
// grow and the heap must stay flat; the RSS at cycles 10 and 200 is
// printed for the README.
func TestSoak(t *testing.T) {
	f := newFixture(t, false)
	weather := konnecttest.Faults{ErrorRate: 0.05, RateLimit: 8, RateBurst: 4, Seed: 21}
	outage := konnecttest.Faults{Rules: []konnecttest.FaultRule{{PathContains: "/v2/", Status: 503}}}
	f.srv.SetFaults(weather)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var outageEnds time.Time
	var goroutines10, goroutines200 int
	var heap10, heap200, rss10, rss200 uint64
	failing := 0
	for i := 1; i <= 200; i++ {
		<-tick.C // the interval: a soak runs in real time
		switch {
		case i == 40:
			f.srv.SetFaults(outage)
			outageEnds = time.Now().Add(30 * time.Second)
		case !outageEnds.IsZero() && time.Now().After(outageEnds):
			f.srv.SetFaults(weather)
			outageEnds = time.Time{}
			t.Logf("outage over at cycle %d", i)
		}
		f.cycle()
		f.get("/")
		if f.metric(`kvsync_check_failing{control_plane="watched"}`) == 1 {
			failing++
		}
		switch i {
		case 10:
			goroutines10, heap10, rss10 = measure(t)
		case 200:
			goroutines200, heap200, rss200 = measure(t)
		}
	}
	t.Logf("cycles 10 and 200: goroutines %d and %d, heap in use %.1f and %.1f MiB, RSS %.1f and %.1f MiB; %d checks failed",
		goroutines10, goroutines200, mib(heap10), mib(heap200), mib(rss10), mib(rss200), failing)
	if failing < 30 {
		t.Errorf("only %d checks failed: the outage was not seen", failing)
	}
	f.expect(`kvsync_check_failing{control_plane="watched"}`, 0)
	for _, series := range []string{`kvsync_konnect_rate_limited_total`, `kvsync_konnect_requests_total{code="5xx"}`, `kvsync_konnect_retries_total`} {
		v := f.metric(series)
		t.Logf("%s %g", series, v)
		if v < 1 {
			t.Errorf("%s is %g: the soak did not soak", series, v)
		}
	}
	if goroutines200 > goroutines10+2 {
		t.Errorf("goroutines grew from %d to %d", goroutines10, goroutines200)
	}
	if heap200 > heap10+heap10/2+1<<20 {
		t.Errorf("the heap grew from %.1f to %.1f MiB", mib(heap10), mib(heap200))
	}
}

// measure returns the goroutines, the live heap after a collection and the
// process's resident set.
func measure(t *testing.T) (int, uint64, uint64) {
	t.Helper()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var rss uint64
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb uint64
			for _, c := range strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")) {
				kb = kb*10 + uint64(c-'0')
			}
			rss = kb << 10
		}
	}
	return runtime.NumGoroutine(), m.HeapAlloc, rss
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
