// Command konnect-emulator serves the Konnect emulator (pkg/konnect/konnecttest)
// over HTTP, for the demo, manual scenarios with curl, and benchmarks.
//
//	konnect-emulator --listen 127.0.0.1:0 --token kpat_… [--data FILE] [--preload tutorial]
//	    [--latency 50ms --latency-jitter 20ms] [--rate-limit 5 --rate-burst 5]
//	    [--error-rate 0.1] [--drop-rate 0.05] [--seed N]
//
// The first line of standard output is "listening on http://HOST:PORT".
// Requests are logged to standard error (method, path, status, duration;
// never bodies, never the token). SIGINT or SIGTERM shuts it down gracefully.
// GET /_emulator/counts (emulator-only, same token) returns the per-endpoint
// request and 429 counters as JSON; DELETE /_emulator/counts zeroes them.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "konnect-emulator:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("konnect-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8123", "address to listen on (port 0 picks a free port)")
	token := fs.String("token", "", "bearer token to accept (default: $KONNECT_EMULATOR_TOKEN, else "+konnecttest.DefaultToken+")")
	data := fs.String("data", "", "file to load state from and save it to after every change")
	preload := fs.String("preload", "", "start with a built-in state: "+strings.Join(konnecttest.PreloadNames(), ", ")+
		" (the tutorial's my-control-plane, example-service and example-route)")
	var f konnecttest.Faults
	fs.DurationVar(&f.Latency, "latency", 0, "latency added to every request")
	fs.DurationVar(&f.LatencyJitter, "latency-jitter", 0, "random extra latency in [0, jitter)")
	fs.Float64Var(&f.RateLimit, "rate-limit", 0, "requests per second before answering 429 (0: unlimited)")
	fs.IntVar(&f.RateBurst, "rate-burst", 0, "token bucket size for --rate-limit (default: the rate, at least 1)")
	fs.Float64Var(&f.ErrorRate, "error-rate", 0, "fraction of requests answered 500/503 unprocessed")
	fs.Float64Var(&f.DropRate, "drop-rate", 0, "fraction of connections closed without an answer")
	fs.Int64Var(&f.Seed, "seed", 0, "seed of the random faults (0: from the clock)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *token == "" {
		*token = os.Getenv("KONNECT_EMULATOR_TOKEN")
	}
	for name, v := range map[string]float64{"error-rate": f.ErrorRate, "drop-rate": f.DropRate} {
		if v < 0 || v > 1 {
			return fmt.Errorf("--%s must be between 0 and 1", name)
		}
	}

	emu, err := konnecttest.New(konnecttest.Options{Token: *token, DataFile: *data, Faults: f, Preload: *preload})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(stdout)
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	if err := out.Flush(); err != nil {
		return err
	}

	logger := log.New(stderr, "", log.LstdFlags)
	srv := &http.Server{Handler: logRequests(logger, emu), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Print("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	emu.Flush()
	if err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// statusRecorder remembers the status and keeps the connection hijackable,
// which the emulator needs to drop connections.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijacking not supported")
	}
	s.status = -1
	return hj.Hijack()
}

// logRequests logs one line per request: never headers or bodies (they
// carry the token and secret values). The path is logged without its query.
func logRequests(l *log.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			status := fmt.Sprint(rec.status)
			if rec.status == -1 {
				status = "dropped"
			}
			l.Printf("%s %s %s %s", r.Method, r.URL.EscapedPath(), status, time.Since(start).Round(time.Microsecond))
		}()
		next.ServeHTTP(rec, r)
	})
}
