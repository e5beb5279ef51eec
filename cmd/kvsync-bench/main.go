// Command kvsync-bench measures the kvsync binary against the
// konnect-emulator binary, end to end: for each scenario it starts the
// emulator on 127.0.0.1 (with --rate-limit or --latency as the scenario
// needs, and a --data file when the scenario starts from a seeded state),
// runs `kvsync sync` or `kvsync diff`, reads the emulator's request and
// 429 counters from GET /_emulator/counts, and prints one table:
//
//	scenario, wall time, ideal, wall/ideal, requests, minimum requests,
//	requests/minimum, 429s, failed operations, CPU and peak RSS of kvsync (or decK),
//	and whether the scenario's targets hold.
//
// Two scenarios run offline on the file of "diff at scale": `kvsync
// validate` (the whole process), and state.Load alone in this process
// (the fastest of a few loads: its time and the bytes it allocates).
//
// Run it with `make bench-e2e` (which builds both binaries first), or
//
//	go run ./cmd/kvsync-bench --bin bin [--only NAME,...] [--markdown]
//
// Large states are seeded in-process (the emulator package, through its
// API) and handed to the binary as a --data file, never by slow syncs.
// Secret values are fake and never printed; the token is a fake one of the
// bench's own, passed through the environment.
//
// decK side by side: the scenario marked deck runs kvsync, then decK
// (`deck gateway sync`, its defaults) on the same work from the same
// state, each against a fresh emulator, and checks kvsync's wall against
// decK's. It runs only when DECK_BIN names a deck binary or deck is on
// PATH; otherwise its row says it was skipped. Nothing else needs decK.
//
// Ideal times: N writes under a rate limit R cannot beat M/R seconds,
// where M is the minimum number of requests of the run (its reads and
// writes); under a latency L at parallelism P they cannot beat N·L/P.
// Minimum requests are those the run needs at the largest page sizes: the
// control plane by name, one page per list, one schema per plugin name,
// one listing page of routes, and one request per write.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
	"github.com/kvsync/kvsync/pkg/state"
)

// token is the bench's own fake token: emulator and kvsync get it through
// the environment, never on a command line.
const token = "kpat_bench_fake_token_not_a_secret"

const controlPlane = "bench"

// scenario is one measured run.
type scenario struct {
	name string
	// command is "sync", "diff" or "validate" (the kvsync binary), or
	// "load": state.Load of the file in this process, for its time and
	// the bytes it allocates.
	command string
	// The desired state: stores × secrets per store, vaults (each on a
	// store), plugins over routes (two plugin names, alternating).
	stores, secrets, vaults, plugins, routes int
	// seeded: the live state matches the file before the run (diff);
	// otherwise the control plane starts empty (sync creates everything).
	seeded bool
	// changed is the share of plugins whose live config differs, and of
	// secrets missing live, in a seeded state.
	changed float64

	// planes > 0: that many control planes (bench-00, …), each with the
	// same file, run as mode: "one" kvsync run over them (--environments),
	// "together" (one kvsync run per plane, all started at once) or
	// "series" (one run per plane, one after another).
	planes int
	mode   string

	rate        float64       // emulator --rate-limit (0: none)
	latency     time.Duration // emulator --latency
	parallelism int           // --parallelism; 0: kvsync's default
	// deck: decK syncs the same file from the same state too, each with
	// its defaults, and kvsync's wall must be at most maxDeckRatio times
	// decK's. Skipped (and said so) without a deck binary.
	deck         bool
	maxDeckRatio float64

	// Targets: the most wall/ideal, requests/minimum and share of 429s
	// allowed (0: not checked).
	maxRatio, maxReqRatio, max429 float64
	// maxCPU and maxRSS bound kvsync's own CPU time and peak RSS (0: not
	// checked).
	maxCPU time.Duration
	maxRSS int64
	// maxWall bounds the wall time, maxAlloc the bytes allocated (load:
	// one state.Load, the fastest of loadRuns).
	maxWall  time.Duration
	maxAlloc uint64
}

// result is what a run measured.
type result struct {
	wall, cpu      time.Duration
	rss            int64 // bytes
	alloc          uint64
	requests, t429 int
	failed         int
	ideal          time.Duration
	minimum        int
	err            error
	// deckWall is decK's wall time on the same work (deck scenarios).
	deckWall time.Duration
}

func skippedRow(name string, columns int) []string {
	row := []string{name}
	for len(row) < columns-1 {
		row = append(row, "-")
	}
	return append(row, "skipped: no deck on PATH or DECK_BIN")
}

func scenarios() []scenario {
	return []scenario{
		{name: "sync R=50 P=8", command: "sync", stores: 20, secrets: 100, rate: 50, parallelism: 8, maxRatio: 1.10, max429: 0.05},
		{name: "sync R=50 P=32", command: "sync", stores: 20, secrets: 100, rate: 50, parallelism: 32, maxRatio: 1.10, max429: 0.05},
		{name: "sync L=50ms P=8", command: "sync", stores: 5, secrets: 200, latency: 50 * time.Millisecond, parallelism: 8, maxRatio: 1.08},
		{name: "sync L=50ms P=32", command: "sync", stores: 5, secrets: 200, latency: 50 * time.Millisecond, parallelism: 32, maxRatio: 1.15},
		{name: "no-op diff small", command: "diff", stores: 10, secrets: 100, vaults: 10, plugins: 200, routes: 100, seeded: true, maxReqRatio: 1.00},
		{name: "no-op diff large", command: "diff", stores: 50, secrets: 1000, vaults: 100, plugins: 2000, routes: 1000, seeded: true, maxReqRatio: 1.00},
		{name: "sync R=5 P=8", command: "sync", stores: 1, secrets: 100, rate: 5, parallelism: 8, max429: 0.10},
		// The first burst at a throttled API, with the default ceiling
		// (64): the pacer's window starts small, so few 429s.
		{name: "sync R=20 L=100ms defaults", command: "sync", stores: 4, secrets: 100, rate: 20, latency: 100 * time.Millisecond, max429: 0.05},
		{name: "20 planes: one run R=50 P=8", command: "sync", planes: 20, mode: "one", stores: 1, secrets: 100, vaults: 1, plugins: 1, rate: 50, parallelism: 8, maxRatio: 1.10, max429: 0.05},
		{name: "20 planes: 20 runs together R=50 P=8", command: "sync", planes: 20, mode: "together", stores: 1, secrets: 100, vaults: 1, plugins: 1, rate: 50, parallelism: 8},
		{name: "20 planes: 20 runs in series R=50 P=8", command: "sync", planes: 20, mode: "series", stores: 1, secrets: 100, vaults: 1, plugins: 1, rate: 50, parallelism: 8},
		{name: "20 planes: one run L=50ms P=32", command: "sync", planes: 20, mode: "one", stores: 1, secrets: 100, vaults: 1, plugins: 1, latency: 50 * time.Millisecond, parallelism: 32, maxRatio: 1.30},
		{name: "20 planes: no-op diff", command: "diff", planes: 20, mode: "one", stores: 1, secrets: 100, vaults: 1, plugins: 1, seeded: true, maxReqRatio: 1.00},
		{name: "sync 1000 plugins L=50ms defaults", command: "sync", plugins: 1000, routes: 500,
			latency: 50 * time.Millisecond, deck: true, maxDeckRatio: 0.5},
		{name: "diff at scale (10% changed)", command: "diff", stores: 50, secrets: 1000, vaults: 100, plugins: 10000, routes: 5000, seeded: true, changed: 0.10,
			maxReqRatio: 1.00, maxCPU: 1000 * time.Millisecond, maxRSS: 150 << 20},
		// The same file, offline: validate (the whole process) and
		// state.Load alone.
		{name: "validate at scale", command: "validate", stores: 50, secrets: 1000, vaults: 100, plugins: 10000, routes: 5000,
			maxCPU: 500 * time.Millisecond},
		{name: "load at scale (state.Load)", command: "load", stores: 50, secrets: 1000, vaults: 100, plugins: 10000, routes: 5000,
			maxWall: 300 * time.Millisecond, maxAlloc: 80 << 20},
	}
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kvsync-bench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kvsync-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "bin", "directory holding the kvsync and konnect-emulator binaries")
	only := fs.String("only", "", "comma-separated scenario names (or parts of names) to run; default all")
	markdown := fs.Bool("markdown", false, "print the table as Markdown")
	if err := fs.Parse(args); err != nil {
		return err
	}
	binDir, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	kvsync, emulator := filepath.Join(binDir, "kvsync"), filepath.Join(binDir, "konnect-emulator")
	for _, b := range []string{kvsync, emulator} {
		if _, err := os.Stat(b); err != nil {
			return fmt.Errorf("%w (build both binaries first: make build)", err)
		}
	}
	dir, err := os.MkdirTemp("", "kvsync-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	header := []string{"scenario", "wall", "ideal", "ratio", "requests", "minimum", "req/min", "429s", "failed ops", "CPU", "RSS", "allocated", "targets"}
	var rows [][]string
	failures := 0
	deck := deckBinary()
	for _, sc := range scenarios() {
		if !selected(sc.name, *only) {
			continue
		}
		if sc.deck && deck == "" {
			fmt.Fprintf(stderr, "%s: skipped (no deck on PATH, DECK_BIN unset)\n", sc.name)
			rows = append(rows, skippedRow(sc.name, len(header)))
			continue
		}
		fmt.Fprintf(stderr, "%s ...\n", sc.name)
		sub := filepath.Join(dir, strings.NewReplacer(" ", "_", "=", "", "/", "", "(", "", ")", "", "%", "", ":", "").Replace(sc.name))
		r := measure(sc, kvsync, "", emulator, sub)
		var deckRow []string
		if sc.deck {
			fmt.Fprintf(stderr, "%s with decK ...\n", sc.name)
			d := measure(sc, kvsync, deck, emulator, sub+"-deck")
			r.deckWall = d.wall
			var ok bool
			deckRow, ok = format(scenario{name: sc.name + " (decK)", command: sc.command, plugins: sc.plugins, routes: sc.routes}, d)
			if !ok {
				failures++
			}
			if d.err != nil {
				fmt.Fprintf(stderr, "  %s (decK): %v\n", sc.name, d.err)
			}
		}
		row, ok := format(sc, r)
		if !ok {
			failures++
		}
		rows = append(rows, row)
		if deckRow != nil {
			rows = append(rows, deckRow)
		}
		if r.err != nil {
			fmt.Fprintf(stderr, "  %s: %v\n", sc.name, r.err)
		}
	}
	printTable(stdout, header, rows, *markdown)
	if failures > 0 {
		return fmt.Errorf("%d scenario(s) missed a target", failures)
	}
	return nil
}

func selected(name, only string) bool {
	if only == "" {
		return true
	}
	for _, o := range strings.Split(only, ",") {
		if o = strings.TrimSpace(o); o != "" && strings.Contains(name, o) {
			return true
		}
	}
	return false
}

// measure runs one scenario in its own directory.
//
// With deck set, decK runs instead of kvsync.
func measure(sc scenario, kvsync, deck, emulator, dir string) result {
	var r result
	if err := os.MkdirAll(dir, 0o700); err != nil {
		r.err = err
		return r
	}
	file := filepath.Join(dir, "kvsync.yaml")
	if err := os.WriteFile(file, []byte(desiredYAML(sc)), 0o600); err != nil {
		r.err = err
		return r
	}
	switch sc.command {
	case "load":
		return measureLoad(file)
	case "validate":
		var out strings.Builder
		start := time.Now()
		r.err = runKvsync(kvsync, dir, []string{"validate", file}, &out, &r)
		r.wall = time.Since(start)
		return r
	}
	var data string
	if sc.seeded {
		data = filepath.Join(dir, "state.json")
		if err := seed(sc, data); err != nil {
			r.err = fmt.Errorf("seeding: %w", err)
			return r
		}
	}
	emu, err := startEmulator(emulator, sc, data)
	if err != nil {
		r.err = err
		return r
	}
	defer emu.stop()
	if !sc.seeded {
		for _, name := range planeNames(sc) {
			if err := emu.call(http.MethodPost, "/v2/control-planes", `{"name": "`+name+`"}`, nil); err != nil {
				r.err = fmt.Errorf("creating the control plane: %w", err)
				return r
			}
		}
		// The routes plugins name, through the API (a --data file would
		// be rewritten after every write of the run).
		if err := createRoutes(sc, emu.url); err != nil {
			r.err = fmt.Errorf("creating the routes: %w", err)
			return r
		}
	}
	if err := emu.call(http.MethodDelete, "/_emulator/counts", "", nil); err != nil {
		r.err = err
		return r
	}

	args := []string{sc.command, "--konnect-addr", emu.url, "--no-sum", "--no-color", "-o", "json"}
	if sc.command == "sync" && sc.parallelism > 0 {
		args = append(args, "--parallelism", fmt.Sprint(sc.parallelism))
	}
	if sc.command == "diff" && sc.changed == 0 {
		args = append(args, "--exit-code") // a no-op diff must find nothing: exit 2 otherwise
	}
	// The runs: one, or one per control plane.
	var runs [][]string
	switch sc.mode {
	case "":
		runs = [][]string{append(slices.Clone(args), file)}
	case "one":
		envs := filepath.Join(dir, "kvsync.environments.yaml")
		if err := os.WriteFile(envs, []byte(environmentsYAML(sc)), 0o600); err != nil {
			r.err = err
			return r
		}
		runs = [][]string{append(slices.Clone(args), "--environments", envs)}
	default:
		for _, name := range planeNames(sc) {
			runs = append(runs, append(slices.Clone(args), "--konnect-control-plane-name", name, file))
		}
	}
	if deck != "" {
		deckFile := filepath.Join(dir, "deck.yaml")
		if err := os.WriteFile(deckFile, []byte(deckYAML(sc)), 0o600); err != nil {
			r.err = err
			return r
		}
		// decK with its defaults (--parallelism 10), its token from its
		// own variable.
		runs = [][]string{{deck, "gateway", sc.command, "--konnect-addr", emu.url,
			"--konnect-control-plane-name", controlPlane, "--no-color", deckFile}}
	}
	outs := make([]strings.Builder, len(runs))
	start := time.Now()
	switch {
	case deck != "":
		r.err = runDeck(dir, runs[0], &outs[0], &r)
	case sc.mode == "together":
		var g errgroup.Group
		var mu sync.Mutex
		for i, a := range runs {
			g.Go(func() error {
				one := result{}
				err := runKvsync(kvsync, dir, a, &outs[i], &one)
				mu.Lock()
				defer mu.Unlock()
				r.cpu += one.cpu
				r.rss = max(r.rss, one.rss)
				return err
			})
		}
		r.err = g.Wait()
	default:
		for i, a := range runs {
			one := result{}
			err := runKvsync(kvsync, dir, a, &outs[i], &one)
			r.cpu += one.cpu
			r.rss = max(r.rss, one.rss)
			r.err = errors.Join(r.err, err)
		}
	}
	r.wall = time.Since(start)
	var counts konnecttest.CountsReport
	if err := emu.call(http.MethodGet, "/_emulator/counts", "", &counts); err != nil {
		r.err = errors.Join(r.err, err)
	}
	r.requests, r.t429 = counts.TotalRequests, counts.TotalThrottled
	for i := range outs {
		if n := failedOps(sc, outs[i].String()); n < 0 || r.failed < 0 {
			r.failed = -1
		} else {
			r.failed += n
		}
	}
	if deck != "" {
		r.failed = sc.plugins - pluginWrites(counts) // decK's summary is text
	}
	r.minimum, r.ideal = minimum(sc)
	if sc.planes > 0 && sc.rate > 0 {
		// Under a rate limit a run cannot beat the requests it made
		// over the rate (the lock and the re-plan under it included).
		r.ideal = time.Duration(float64(r.requests) / sc.rate * float64(time.Second))
	}
	return r
}

// loadRuns is how many times the load scenario loads the file: the
// fastest counts, so that another process's burst of CPU does not.
const loadRuns = 5

// measureLoad loads file with state.Load in this process, loadRuns times
// after a warm-up, and keeps the fastest run: its wall time, its CPU time
// (this process's, the garbage collector's workers included) and the bytes
// it allocated (the same each run).
func measureLoad(file string) result {
	var r result
	opts := state.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }}
	if _, err := state.Load([]string{file}, opts); err != nil {
		r.err = err
		return r
	}
	for i := range loadRuns {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		cpu0 := processCPU()
		start := time.Now()
		_, err := state.Load([]string{file}, opts)
		wall := time.Since(start)
		cpu := processCPU() - cpu0
		runtime.ReadMemStats(&after)
		if err != nil {
			r.err = err
			return r
		}
		if i == 0 || wall < r.wall {
			r.wall, r.cpu = wall, cpu
		}
		r.alloc = after.TotalAlloc - before.TotalAlloc
	}
	return r
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runKvsync runs the kvsync binary once, recording its CPU time and peak
// RSS in r.
func runKvsync(kvsync, dir string, args []string, out *strings.Builder, r *result) error {
	cmd := exec.Command(kvsync, args...)
	cmd.Env = append(os.Environ(), "KVSYNC_KONNECT_TOKEN="+token)
	err := runMeasured(cmd, dir, out, r)
	var exit *exec.ExitError
	if args[0] == "diff" && errors.As(err, &exit) && exit.ExitCode() == 3 {
		// No change found; the values were not compared (--no-sum).
		return nil
	}
	if err != nil {
		return fmt.Errorf("kvsync %s: %w", args[0], err)
	}
	return nil
}

// runDeck runs decK (args[0]) like runKvsync runs kvsync, its token in its
// own variable and no other DECK_* variable of the bench's environment.
func runDeck(dir string, args []string, out *strings.Builder, r *result) error {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(withoutDeckVariables(os.Environ()), "DECK_KONNECT_TOKEN="+token)
	if err := runMeasured(cmd, dir, out, r); err != nil {
		return fmt.Errorf("deck gateway %s: %w", args[2], err)
	}
	return nil
}

// runMeasured runs cmd in dir, its standard output into out, recording its
// CPU time and peak RSS in r.
func runMeasured(cmd *exec.Cmd, dir string, out *strings.Builder, r *result) error {
	cmd.Dir = dir
	cmd.Stdout = out
	err := cmd.Start()
	if err == nil {
		stopPeak := watchPeakRSS(cmd.Process.Pid, &r.rss)
		err = cmd.Wait()
		stopPeak()
	}
	if ps := cmd.ProcessState; ps != nil {
		r.cpu = ps.UserTime() + ps.SystemTime()
	}
	return err
}

// pluginWrites counts the plugin creates the emulator accepted: by POST or
// by PUT with a client-chosen id, on the plugins collection or nested under
// the entity they apply to.
func pluginWrites(c konnecttest.CountsReport) int {
	n := 0
	for k, v := range c.Requests {
		method, path, _ := strings.Cut(k, " ")
		if (method == http.MethodPost || method == http.MethodPut) &&
			(strings.HasSuffix(path, "/plugins") || strings.HasSuffix(strings.ToLower(path), "/plugins/{pluginid}")) {
			n += v - c.Throttled[k]
		}
	}
	return n
}

// withoutDeckVariables drops DECK_* variables, so that a developer's own
// decK settings never point the bench's decK elsewhere.
func withoutDeckVariables(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "DECK_") {
			out = append(out, kv)
		}
	}
	return out
}

// deckBinary is the deck binary the bench compares with: DECK_BIN, else
// deck on PATH; "" when there is none.
func deckBinary() string {
	if b := os.Getenv("DECK_BIN"); b != "" {
		return b
	}
	if b, err := exec.LookPath("deck"); err == nil {
		return b
	}
	return ""
}

// deckYAML is the file decK reads: the plugins of desiredYAML, owned
// through the same select tag, their routes looked up by the tag the bench
// gives them (decK resolves names only among the entities it manages or
// looks up).
func deckYAML(sc scenario) string {
	var b strings.Builder
	b.WriteString("_format_version: \"3.0\"\n_info:\n  select_tags: [kvsync]\n  default_lookup_tags:\n    routes: [" + routeTag + "]\n")
	b.WriteString("_konnect:\n  control_plane_name: " + controlPlane + "\n")
	if sc.plugins > 0 {
		b.WriteString("plugins:\n")
	}
	for p := range sc.plugins {
		cfg, _ := json.Marshal(pluginConfig(p))
		fmt.Fprintf(&b, "  - name: %s\n    route: %s\n    config: %s\n", pluginName(p), routeName(pluginRoute(sc, p)), cfg)
	}
	return b.String()
}

// routeTag tags the bench's routes, for decK's default_lookup_tags.
const routeTag = "bench-routes"

// createRoutes creates the scenario's routes on the emulator at url (its
// control plane exists already).
func createRoutes(sc scenario, url string) error {
	if sc.routes == 0 {
		return nil
	}
	c, err := konnect.New(konnect.Options{BaseURL: url, Token: token, NoPacing: true})
	if err != nil {
		return err
	}
	ctx := context.Background()
	cp, err := c.ControlPlanes.Resolve(ctx, controlPlane)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(64)
	for r := range sc.routes {
		g.Go(func() error {
			_, err := c.Routes.Create(gctx, cp.ID, konnect.Route{Name: routeName(r), Paths: []string{"/" + routeName(r)}, Tags: []string{routeTag}})
			return err
		})
	}
	return g.Wait()
}

// planeNames are the scenario's control planes.
func planeNames(sc scenario) []string {
	if sc.planes == 0 {
		return []string{controlPlane}
	}
	names := make([]string, sc.planes)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%02d", controlPlane, i)
	}
	return names
}

// environmentsYAML names one environment per control plane, all with the
// same file.
func environmentsYAML(sc scenario) string {
	var b strings.Builder
	b.WriteString("files: [kvsync.yaml]\nenvironments:\n")
	for _, name := range planeNames(sc) {
		fmt.Fprintf(&b, "  - name: %s\n    control_plane: %s\n", name, name)
	}
	return b.String()
}

// watchPeakRSS samples the process's peak resident set (VmHWM of
// /proc/PID/status) every few milliseconds into *peak, until stop is
// called. (The rusage of wait4 will not do: its maxrss starts from the
// parent's own resident set, which the in-process seeding makes large.)
func watchPeakRSS(pid int, peak *int64) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	status := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if raw, err := os.ReadFile(status); err == nil {
				for _, line := range strings.Split(string(raw), "\n") {
					if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						var kb int64
						if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb); err == nil && kb*1024 > *peak {
							*peak = kb * 1024
						}
					}
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// failedOps reads the summary of `sync -o json`: every operation that did
// not succeed. A diff has none.
func failedOps(sc scenario, out string) int {
	if sc.command != "sync" {
		return 0
	}
	var doc struct {
		Summary      map[string]int `json:"summary"`
		Environments []struct {
			Outcome string         `json:"outcome"`
			Summary map[string]int `json:"summary"`
		} `json:"environments"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return -1
	}
	n := doc.Summary["failed"] + doc.Summary["skipped"] + doc.Summary["not_started"]
	for _, e := range doc.Environments {
		if e.Outcome != "applied" && e.Summary == nil {
			n++ // failed before applying
		}
		n += e.Summary["failed"] + e.Summary["skipped"] + e.Summary["not_started"]
	}
	return n
}

// pages is the number of pages a listing of n items at size costs (an
// empty list is one page).
func pages(n, size int) int { return max(1, (n+size-1)/size) }

// minimum is the fewest requests the scenario's run can make, and its
// ideal wall time.
func minimum(sc scenario) (int, time.Duration) {
	// Resolving the control plane by name, listing config stores, vaults
	// and plugins.
	n := 1 + pages(sc.stores, 100) + pages(sc.vaults, 1000) + pages(sc.plugins, 1000)
	writes := 0
	if sc.seeded {
		for range sc.stores {
			n += pages(sc.secrets, 100) // each declared store's secrets
		}
		if sc.plugins > 0 {
			if sc.routes > 0 {
				n += pages(sc.routes, 1000) // the routes plugins name
			}
			n += min(sc.plugins, 2) // one schema per plugin name
		}
		missing := int(float64(sc.secrets) * sc.changed)
		if missing > 0 {
			n -= sc.stores * (pages(sc.secrets, 100) - pages(sc.secrets-missing, 100))
		}
	} else {
		writes = sc.stores + sc.stores*sc.secrets + sc.vaults + sc.plugins // everything is created
		if sc.plugins > 0 {
			n += min(sc.plugins, 2) // one schema per plugin name
			if sc.routes > 0 {
				n += pages(sc.routes, 1000) // the routes plugins name
			}
		}
		n += writes
	}
	if sc.planes > 0 {
		n, writes = n*sc.planes, writes*sc.planes
	}
	var ideal time.Duration
	switch {
	case sc.rate > 0:
		ideal = time.Duration(float64(n) / sc.rate * float64(time.Second))
	case sc.latency > 0 && sc.parallelism > 0:
		ideal = time.Duration(float64(writes) * float64(sc.latency) / float64(sc.parallelism))
	}
	return n, ideal
}

// format renders a result as a row and checks the scenario's targets.
func format(sc scenario, r result) ([]string, bool) {
	ok := r.err == nil && r.failed == 0
	var why []string
	if r.err != nil {
		why = append(why, "error")
	}
	if r.failed != 0 {
		why = append(why, "failed ops")
	}
	ratio, reqRatio, share := math.NaN(), float64(r.requests)/float64(r.minimum), 0.0
	if r.ideal > 0 {
		ratio = r.wall.Seconds() / r.ideal.Seconds()
	}
	if r.requests > 0 {
		share = float64(r.t429) / float64(r.requests)
	}
	check := func(bad bool, what string) {
		if bad {
			ok = false
			why = append(why, what)
		}
	}
	check(sc.maxRatio > 0 && !(ratio <= sc.maxRatio), fmt.Sprintf("ratio > %.2f", sc.maxRatio))
	check(sc.maxReqRatio > 0 && !(reqRatio <= sc.maxReqRatio+1e-9), fmt.Sprintf("req/min > %.2f", sc.maxReqRatio))
	check(sc.max429 > 0 && !(share < sc.max429), fmt.Sprintf("429s >= %.0f%%", sc.max429*100))
	check(sc.maxCPU > 0 && r.cpu > sc.maxCPU, fmt.Sprintf("CPU > %s", sc.maxCPU))
	check(sc.maxRSS > 0 && r.rss > sc.maxRSS, fmt.Sprintf("RSS > %d MB", sc.maxRSS>>20))
	check(sc.maxWall > 0 && r.wall > sc.maxWall, fmt.Sprintf("wall > %s", sc.maxWall))
	check(sc.maxAlloc > 0 && r.alloc > sc.maxAlloc, fmt.Sprintf("allocated > %d MB", sc.maxAlloc>>20))
	versus := ""
	if r.deckWall > 0 {
		deckRatio := r.wall.Seconds() / r.deckWall.Seconds()
		versus = fmt.Sprintf(" (%.2fx decK)", deckRatio)
		check(sc.maxDeckRatio > 0 && !(deckRatio <= sc.maxDeckRatio), fmt.Sprintf("> %.2fx decK", sc.maxDeckRatio))
	}
	verdict := "ok"
	if !ok {
		verdict = "MISSED: " + strings.Join(why, ", ")
	}
	dash := func(cond bool, s string) string {
		if cond {
			return s
		}
		return "-"
	}
	return []string{
		sc.name,
		fmt.Sprintf("%.2f s%s", r.wall.Seconds(), versus),
		dash(r.ideal > 0, fmt.Sprintf("%.2f s", r.ideal.Seconds())),
		dash(r.ideal > 0, fmt.Sprintf("%.2f", ratio)),
		dash(r.minimum > 0, fmt.Sprint(r.requests)),
		dash(r.minimum > 0, fmt.Sprint(r.minimum)),
		dash(r.minimum > 0, fmt.Sprintf("%.2f", reqRatio)),
		dash(r.minimum > 0, fmt.Sprintf("%d (%.1f%%)", r.t429, share*100)),
		dash(r.minimum > 0, fmt.Sprint(r.failed)),
		fmt.Sprintf("%.2f s", r.cpu.Seconds()),
		dash(r.rss > 0, fmt.Sprintf("%d MB", r.rss>>20)),
		dash(r.alloc > 0, fmt.Sprintf("%d MB", r.alloc>>20)),
		verdict,
	}, ok
}

func printTable(w io.Writer, header []string, rows [][]string, markdown bool) {
	if markdown {
		fmt.Fprintln(w, "| "+strings.Join(header, " | ")+" |")
		sep := make([]string, len(header))
		for i := range sep {
			sep[i] = "---:"
		}
		sep[0], sep[len(sep)-1] = "---", "---"
		fmt.Fprintln(w, "|"+strings.Join(sep, "|")+"|")
		for _, r := range rows {
			fmt.Fprintln(w, "| "+strings.Join(r, " | ")+" |")
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

// Names of the generated entities.
func storeName(s int) string             { return fmt.Sprintf("store-%03d", s) }
func secretKey(k int) string             { return fmt.Sprintf("key-%04d", k) }
func vaultPrefix(v int) string           { return fmt.Sprintf("vault-%03d", v) }
func routeName(r int) string             { return fmt.Sprintf("route-%05d", r) }
func pluginName(p int) string            { return [2]string{"rate-limiting", "key-auth"}[p%2] }
func pluginRoute(sc scenario, p int) int { return (p / 2) % max(1, sc.routes) }

// pluginConfig is the config of plugin p as the file declares it.
func pluginConfig(p int) map[string]any {
	if pluginName(p) == "rate-limiting" {
		return map[string]any{"minute": float64(10 + p%50), "policy": "local"}
	}
	return map[string]any{"key_names": []any{"apikey"}, "hide_credentials": true}
}

// isChanged reports whether item i of n is one whose live state differs.
func isChanged(sc scenario, i int) bool {
	if sc.changed <= 0 {
		return false
	}
	return i%int(math.Round(1/sc.changed)) == 0
}

// desiredYAML is the file kvsync reads. Values are fake.
func desiredYAML(sc scenario) string {
	var b strings.Builder
	b.Grow(sc.stores*sc.secrets*60 + sc.plugins*120)
	b.WriteString("_format_version: \"3.0\"\n")
	if sc.planes == 0 {
		b.WriteString("_konnect:\n  control_plane_name: " + controlPlane + "\n")
	}
	if sc.stores > 0 {
		b.WriteString("config_stores:\n")
	}
	for s := range sc.stores {
		fmt.Fprintf(&b, "  - name: %s\n    secrets:\n", storeName(s))
		for k := range sc.secrets {
			fmt.Fprintf(&b, "      - key: %s\n        value: fake-bench-value-%03d-%04d\n", secretKey(k), s, k)
		}
	}
	if sc.vaults > 0 {
		b.WriteString("vaults:\n")
	}
	for v := range sc.vaults {
		fmt.Fprintf(&b, "  - name: konnect\n    prefix: %s\n    config:\n      config_store: %s\n", vaultPrefix(v), storeName(v%max(1, sc.stores)))
	}
	if sc.plugins > 0 {
		b.WriteString("plugins:\n")
	}
	for p := range sc.plugins {
		cfg, _ := json.Marshal(pluginConfig(p))
		if sc.routes == 0 {
			fmt.Fprintf(&b, "  - name: %s\n    config: %s\n", pluginName(p), cfg) // global
			continue
		}
		fmt.Fprintf(&b, "  - name: %s\n    route: %s\n    config: %s\n", pluginName(p), routeName(pluginRoute(sc, p)), cfg)
	}
	return b.String()
}

// seed builds the live state in-process, as a sync of the file would leave
// it (minus the changed share), and saves it as a --data file.
func seed(sc scenario, path string) error {
	srv := konnecttest.NewServer(konnecttest.Options{Token: token})
	defer srv.Close()
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: token, NoPacing: true})
	if err != nil {
		return err
	}
	for _, name := range planeNames(sc) {
		if err := seedPlane(sc, c, name); err != nil {
			return err
		}
	}
	return srv.SaveData(path)
}

// seedPlane builds one control plane's live state.
func seedPlane(sc scenario, c *konnect.Client, name string) error {
	ctx := context.Background()
	cp, err := c.ControlPlanes.Create(ctx, konnect.ControlPlane{Name: name})
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	storeIDs := make([]string, sc.stores)
	for s := range sc.stores {
		st, err := c.ConfigStores.Create(ctx, cp.ID, storeName(s))
		if err != nil {
			return err
		}
		storeIDs[s] = st.ID
		for k := range sc.secrets {
			if isChanged(sc, k) {
				continue // missing live: the diff creates it
			}
			g.Go(func() error {
				_, err := c.Secrets.Create(gctx, cp.ID, st.ID, secretKey(k), konnect.Plaintext(fmt.Sprintf("fake-bench-value-%03d-%04d", s, k)))
				return err
			})
		}
	}
	for v := range sc.vaults {
		g.Go(func() error {
			_, err := c.Vaults.Create(gctx, cp.ID, konnect.Vault{Name: "konnect", Prefix: vaultPrefix(v),
				Config: map[string]any{"config_store_id": storeIDs[v%max(1, sc.stores)]}, Tags: []string{"kvsync"}})
			return err
		})
	}
	routeIDs := make([]string, sc.routes)
	for r := range sc.routes {
		g.Go(func() error {
			rt, err := c.Routes.Create(gctx, cp.ID, konnect.Route{Name: routeName(r), Paths: []string{"/" + routeName(r)}})
			if err != nil {
				return err
			}
			routeIDs[r] = rt.ID
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(8)
	for p := range sc.plugins {
		g.Go(func() error {
			cfg := pluginConfig(p)
			if isChanged(sc, p) && pluginName(p) == "rate-limiting" {
				cfg["minute"] = cfg["minute"].(float64) + 1000
			}
			pl := konnect.Plugin{Name: pluginName(p), Config: cfg, Tags: []string{"kvsync"}}
			if sc.routes > 0 {
				pl.Route = &konnect.ForeignKey{ID: routeIDs[pluginRoute(sc, p)]}
			}
			_, err := c.Plugins.Create(gctx, cp.ID, pl)
			return err
		})
	}
	return g.Wait()
}

// emulatorProc is a running konnect-emulator binary.
type emulatorProc struct {
	cmd *exec.Cmd
	url string
}

func startEmulator(bin string, sc scenario, data string) (*emulatorProc, error) {
	args := []string{"--listen", "127.0.0.1:0"}
	if data != "" {
		args = append(args, "--data", data)
	}
	if sc.rate > 0 {
		args = append(args, "--rate-limit", fmt.Sprint(sc.rate))
	}
	if sc.latency > 0 {
		args = append(args, "--latency", sc.latency.String())
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KONNECT_EMULATOR_TOKEN="+token)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// The request log (one line per request) goes nowhere: cmd.Stderr nil.
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("konnect-emulator did not start: %w", err)
	}
	u, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("konnect-emulator: unexpected first line %q", line)
	}
	return &emulatorProc{cmd: cmd, url: u}, nil
}

func (e *emulatorProc) stop() {
	_ = e.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-done
	}
}

// call sends one request to the emulator (outside kvsync's count: the
// counters are zeroed after setup) and decodes a JSON answer into out.
func (e *emulatorProc) call(method, path, body string, out any) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}
