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
		Flags: flags(connectionFlags(), []cli.Flag{selectTagFlag(), parallelismFlag()}, values, envFlags(), []cli.Flag{
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
	s, err := p.readSettings(c)
	if err != nil {
		return err
	}
	// The files are checked once at the start: a deployment with a broken
	// file fails at once. Afterwards a broken edit is a failing check.
	first, err := loadFiles(c, nil)
	if err != nil {
		return err
	}
	if _, err := planOptions(s, first, nil, false); err != nil {
		return err
	}
	name := s.controlPlane
	if name == "" {
		name = first.ControlPlaneName
	}
	if name == "" {
		return fmt.Errorf("watch needs a control plane: pass --%s or name it in the file (_konnect.control_plane_name)", flagControlPlane)
	}
	// The files and kvsync.sum are read again every cycle.
	read := func(writes bool) (watch.Inputs, error) {
		file, err := loadFiles(c, nil)
		if err != nil {
			return watch.Inputs{}, err
		}
		values, err := p.readPlanInputs(c, writes)
		if err != nil {
			return watch.Inputs{}, err
		}
		opts, err := planOptions(s, file, values, false)
		return watch.Inputs{File: file, Plan: opts}, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: "kvsync_build_info", Help: "kvsync's version, as a label; always 1.",
		ConstLabels: prometheus.Labels{"version": version}})
	build.Set(1)
	reg.MustRegister(build)

	var w *watch.Watcher
	var base *konnect.Client
	var baseMu sync.Mutex
	client := func() (*konnect.Client, error) {
		baseMu.Lock()
		defer baseMu.Unlock()
		if base == nil {
			verbose := s.trace
			s.trace = func(e konnect.Event) {
				w.Trace(e)
				verbose(e)
			}
			var err error
			if base, err = s.client(); err != nil {
				return nil, err
			}
			return base, nil
		}
		// The token file is read again: a rotated token needs no restart.
		now, err := p.readSettings(c)
		if err != nil {
			return nil, err
		}
		return base.NextRun(now.token)
	}
	w, err = watch.New(watch.Config{
		Targets:      []watch.Target{{Name: name, Read: read}},
		Interval:     interval,
		Jitter:       c.Float64(flagJitter),
		CycleTimeout: s.maxDuration,
		Client:       client,
		Remediate:    remediate,
		Parallelism:  workers,
		Logger:       log,
		Scrub:        p.scrub,
		Registerer:   reg,
	})
	if err != nil {
		return err
	}

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
	log.Info("watching", "control_planes", 1, "interval", interval.String(), "mode", mode, "listen", ln.Addr().String())

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
