package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/urfave/cli/v2"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/watch"
)

const (
	flagInterval    = "interval"
	flagJitter      = "jitter"
	flagMetricsAddr = "metrics-addr"
	flagRemediate   = "remediate"
	flagLogFormat   = "log-format"
)

// defaultMetricsAddr serves the metrics, probes and status page.
const defaultMetricsAddr = ":9713"

func (p *program) watchCommand() *cli.Command {
	// Forced writes have no place in a loop: every cycle would write.
	values := slices.DeleteFunc(valueFlags(), func(f cli.Flag) bool {
		return slices.Contains(f.Names(), flagWriteSecrets) || slices.Contains(f.Names(), flagWriteSecret)
	})
	return &cli.Command{
		Name:      "watch",
		Usage:     "plan continuously: drift as Prometheus metrics and a status page; --remediate applies creates and updates",
		ArgsUsage: "[FILE...] (default kvsync.yaml; read again every cycle)",
		Flags: flags(connectionFlags(), environmentFlags(), []cli.Flag{selectTagFlag(), parallelismFlag()}, values, envFlags(), []cli.Flag{
			&cli.DurationFlag{Name: flagInterval, Usage: "time between checks", EnvVars: []string{"KVSYNC_INTERVAL"}, Value: 5 * time.Minute},
			&cli.Float64Flag{Name: flagJitter, Usage: "spread each interval at random by up to this fraction of it", EnvVars: []string{"KVSYNC_JITTER"}, Value: 0.1},
			&cli.StringFlag{Name: flagMetricsAddr, Usage: "serve /metrics, /healthz, /readyz and the status page / on `ADDR`", EnvVars: []string{"KVSYNC_METRICS_ADDR"}, Value: defaultMetricsAddr},
			&cli.BoolFlag{Name: flagRemediate, Usage: "apply creates and updates each cycle, under the lock (never deletes)", EnvVars: []string{"KVSYNC_REMEDIATE"}},
			&cli.StringFlag{Name: flagLogFormat, Usage: "log `FORMAT`: text or json", EnvVars: []string{"KVSYNC_LOG_FORMAT"}, Value: "text"},
		}),
		Action: p.watch,
	}
}

func (p *program) watch(c *cli.Context) error {
	untuneGC() // a long-running process keeps Go's default pace (see gc.go)
	remediate := c.Bool(flagRemediate)
	if remediate && c.Bool(flagAllowMissingEnv) {
		return fmt.Errorf("watch --%s refuses --%s: it would write values nobody knows", flagRemediate, flagAllowMissingEnv)
	}
	if slices.Contains(c.Args().Slice(), "-") {
		return errors.New("watch reads its files again every cycle: it cannot read standard input")
	}
	interval := c.Duration(flagInterval)
	if interval <= 0 {
		return fmt.Errorf("--%s must be positive", flagInterval)
	}
	workers, err := parallelism(c)
	if err != nil {
		return err
	}
	var handler slog.Handler
	switch f := strings.ToLower(c.String(flagLogFormat)); f {
	case "text":
		handler = slog.NewTextHandler(p.stderr, nil)
	case "json":
		handler = slog.NewJSONHandler(p.stderr, nil)
	default:
		return fmt.Errorf("--%s %s: want text or json", flagLogFormat, shown(f))
	}
	log := slog.New(handler)
	clients := &cycleClients{bases: map[string]*konnect.Client{}}
	targets, err := p.watchTargets(c, clients, remediate)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: "kvsync_build_info", Help: "kvsync's version, as a label; always 1.",
		ConstLabels: prometheus.Labels{"version": version}})
	build.Set(1)
	reg.MustRegister(build)

	w, err := watch.New(watch.Config{
		Targets:      targets,
		Interval:     interval,
		Jitter:       c.Float64(flagJitter),
		CheckTimeout: clients.maxDuration,
		Remediate:    remediate,
		Parallelism:  workers,
		Logger:       log,
		Scrub:        p.scrub,
		Registerer:   reg,
	})
	if err != nil {
		return err
	}

	clients.trace = w.Trace

	ln, err := net.Listen("tcp", c.String(flagMetricsAddr))
	if err != nil {
		return fmt.Errorf("--%s: %w", flagMetricsAddr, err)
	}
	srv := &http.Server{Handler: w.Handler(reg), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	mode := "read-only"
	if remediate {
		mode = "remediating creates and updates"
	}
	log.Info("watching", "control_planes", len(targets), "interval", interval.String(), "mode", mode, "listen", ln.Addr().String())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runErr := w.Run(ctx)
	log.Info("stopping: a signal came; the check in flight, if any, was cancelled")
	shutdown, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		_ = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("--%s: %w", flagMetricsAddr, err)
	}
	return runErr
}

// watchTargets are the control planes to watch: every environment of
// --environments (or those --env names), else the one the files name.
// Each is read once now, so that a deployment with a broken file, value or
// kvsync.sum fails at once; afterwards each cycle reads it again (the
// files, kvsync.sum, the environments file and the token file), and a
// broken edit is a failing check, not a crash.
func (p *program) watchTargets(c *cli.Context, clients *cycleClients, remediate bool) ([]watch.Target, error) {
	s, err := p.readSettings(c)
	if err != nil {
		return nil, err
	}
	clients.maxDuration = s.maxDuration
	path := environmentsPath(c)
	if path == "" {
		first, err := loadFiles(c, nil)
		if err != nil {
			return nil, err
		}
		if _, err := planOptions(s, first, nil, ""); err != nil {
			return nil, err
		}
		name := s.controlPlane
		if name == "" {
			name = first.ControlPlaneName
		}
		if name == "" {
			return nil, fmt.Errorf("watch needs a control plane: pass --%s or name it in the file (_konnect.control_plane_name)", flagControlPlane)
		}
		return []watch.Target{{Name: name, Read: func(writes bool) (watch.Inputs, error) {
			now, err := p.readSettings(c)
			if err != nil {
				return watch.Inputs{}, err
			}
			file, err := loadFiles(c, nil)
			if err != nil {
				return watch.Inputs{}, err
			}
			values, err := p.readPlanInputs(c, writes)
			if err != nil {
				return watch.Inputs{}, err
			}
			opts, err := planOptions(now, file, values, "")
			if err != nil {
				return watch.Inputs{}, err
			}
			client, err := clients.next(now)
			return watch.Inputs{File: file, Plan: opts, Client: client}, err
		}}}, nil
	}
	runs, _, err := p.prepareEnvironments(c, path, remediate, "")
	if err != nil {
		return nil, err
	}
	var targets []watch.Target
	named := map[string]string{}
	for _, r := range runs {
		env, cp := r.env.Name, r.env.ControlPlane
		if other, dup := named[cp]; dup {
			return nil, fmt.Errorf("%s: environments %s and %s both name control plane %q: watch tells control planes apart by name", path, other, env, cp)
		}
		named[cp] = env
		targets = append(targets, watch.Target{Name: cp, Environment: env, Read: func(writes bool) (watch.Inputs, error) {
			now, err := p.readSettings(c)
			if err != nil {
				return watch.Inputs{}, err
			}
			es, err := state.LoadEnvironments(path)
			if err != nil {
				return watch.Inputs{}, err
			}
			i := slices.IndexFunc(es.List, func(e *state.Environment) bool { return e.Name == env })
			if i < 0 {
				return watch.Inputs{}, fmt.Errorf("%s: environment %s is gone (restart kvsync watch to watch another set)", path, env)
			}
			r, err := p.prepareEnvironment(c, now, es.Path, es.List[i], writes, "")
			if err != nil {
				return watch.Inputs{}, err
			}
			client, err := clients.next(r.s)
			return watch.Inputs{File: r.file, Plan: r.opts, Client: client}, err
		}})
	}
	return targets, nil
}

// cycleClients gives each check its client: one per address for the
// whole process (so one pacer each, whatever the cycle), renewed with the
// token read again each time (konnect.Client.NextRun).
type cycleClients struct {
	mu          sync.Mutex
	bases       map[string]*konnect.Client
	trace       func(konnect.Event)
	maxDuration time.Duration
}

func (cc *cycleClients) next(s *settings) (*konnect.Client, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if base := cc.bases[s.addr]; base != nil {
		return base.NextRun(s.token)
	}
	verbose := s.trace
	s.trace = func(e konnect.Event) {
		cc.trace(e)
		if verbose != nil {
			verbose(e)
		}
	}
	base, err := s.client()
	if err != nil {
		return nil, err
	}
	cc.bases[s.addr] = base
	return base, nil
}
