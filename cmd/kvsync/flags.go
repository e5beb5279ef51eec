package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kvsync/kvsync/pkg/apply"
	"github.com/kvsync/kvsync/pkg/diff/render"
	"github.com/kvsync/kvsync/pkg/konnect"
)

// Flag names, shared by the commands that take them.
const (
	flagAddr             = "konnect-addr"
	flagToken            = "konnect-token"
	flagTokenFile        = "konnect-token-file"
	flagControlPlane     = "konnect-control-plane-name"
	flagSelectTag        = "select-tag"
	flagParallelism      = "parallelism"
	flagTimeout          = "timeout"
	flagOutput           = "output"
	flagNoColor          = "no-color"
	flagExitCode         = "exit-code"
	flagOnline           = "online"
	flagAll              = "all"
	flagOutputFile       = "output-file"
	flagOut              = "out"
	flagYes              = "yes"
	flagVerbose          = "verbose"
	flagMaxDuration      = "max-duration"
	flagUnreachableAfter = "unreachable-after"
	flagAllowHTTP        = "allow-http"
	flagRPS              = "rps"
	flagRPSMax           = "rps-max"
	flagRPSMin           = "rps-min"
	flagPlan             = "plan"
	flagRegion           = "konnect-region"
	flagEnvironments     = "environments"
	flagEnv              = "env"
)

// envs lists kvsync's variable for a flag, then decK's, so that the seed
// tutorial's DECK_* exports work as they are.
func envs(name string) []string {
	suffix := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	return []string{"KVSYNC_" + suffix, "DECK_" + suffix}
}

// envHint is the help text's list of variables, in urfave's style. The
// variables are resolved by setting, not by urfave: urfave would take an
// empty KVSYNC_… as set and never look at DECK_….
func envHint(vars ...string) string {
	return " [$" + strings.Join(vars, ", $") + "]"
}

// setting is a flag's value: from the command line, else from the first
// non-empty variable, else the flag's default.
func setting(c *cli.Context, name string, vars ...string) string {
	v, _ := settingFrom(c, name, vars...)
	return v
}

// settingFrom is setting, with where the value came from: "--FLAG", the
// variable's name, or "default".
func settingFrom(c *cli.Context, name string, vars ...string) (value, from string) {
	if c.IsSet(name) {
		return c.String(name), "--" + name
	}
	for _, v := range vars {
		if val := strings.TrimSpace(os.Getenv(v)); val != "" {
			return val, v
		}
	}
	return c.String(name), "default"
}

// connectionFlags reach Konnect. The token flag has no default, so its
// value never shows in help.
func connectionFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: flagAddr, Usage: "Konnect API address (region)" + envHint(envs(flagAddr)...), Value: konnect.DefaultBaseURL},
		&cli.StringFlag{Name: flagRegion, Usage: "Konnect region (" + strings.Join(konnect.Regions, ", ") + "): its API address, instead of --konnect-addr" + envHint("KVSYNC_KONNECT_REGION")},
		&cli.StringFlag{Name: flagToken, Usage: "Konnect personal or system account token" + envHint(envs(flagToken)...)},
		&cli.StringFlag{Name: flagTokenFile, Usage: "read the Konnect token from `FILE` (wins over --konnect-token)" + envHint(envs(flagTokenFile)...)},
		&cli.StringFlag{Name: flagControlPlane, Usage: "control plane name or id, for files that name none; one that differs from the file's _konnect.control_plane_name is an error, never an override (to use the same files with several control planes, leave _konnect out of them)" + envHint(envs(flagControlPlane)...)},
		&cli.StringFlag{Name: flagTimeout, Usage: "timeout of one HTTP request: seconds or a duration like 30s" + envHint(envs(flagTimeout)...), Value: "30s"},
		&cli.StringFlag{Name: flagMaxDuration, Usage: "end the whole run after this long (a duration like 30m), whatever Konnect does" + envHint("KVSYNC_MAX_DURATION"), Value: "30m"},
		&cli.StringFlag{Name: flagUnreachableAfter, Usage: "give up when no request has been answered for this long (connections refused or broken, 5xx)" + envHint("KVSYNC_UNREACHABLE_AFTER"), Value: "30s"},
		&cli.BoolFlag{Name: flagAllowHTTP, Usage: "allow http:// to a host that is not loopback (the token would travel in clear)", EnvVars: []string{"KVSYNC_ALLOW_HTTP"}},
		&cli.BoolFlag{Name: flagVerbose, Aliases: []string{"v"}, Usage: "log each HTTP call to standard error: method, path, status, duration, waits (never a body, value or token)", EnvVars: []string{"KVSYNC_VERBOSE"}},
		&cli.Float64Flag{Name: flagRPS, Usage: "requests per second to start at; the pace adapts to what Konnect accepts" + envHint("KVSYNC_RPS"), Value: konnect.DefaultInitialRate},
		&cli.Float64Flag{Name: flagRPSMax, Usage: "requests per second never to exceed" + envHint("KVSYNC_RPS_MAX"), Value: konnect.DefaultMaxRate},
		&cli.Float64Flag{Name: flagRPSMin, Usage: "requests per second a 429 never cuts below" + envHint("KVSYNC_RPS_MIN"), Value: konnect.DefaultMinRate},
	}, boundFlags()...)
}

func selectTagFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: flagSelectTag, Usage: "manage only vaults and plugins with every `TAG` (default: the file's _info.select_tags, else kvsync; a variable holds a comma-separated list)" + envHint(envs(flagSelectTag)...)}
}

func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagOutput, Aliases: []string{"o"}, Usage: "output `FORMAT`: text, json or markdown" + envHint("KVSYNC_OUTPUT"), Value: "text"},
		&cli.BoolFlag{Name: flagNoColor, Usage: "no colour (also NO_COLOR; colour is only ever used on a terminal)",
			EnvVars: []string{"KVSYNC_NO_COLOR"}},
	}
}

func parallelismFlag() cli.Flag {
	return &cli.IntFlag{Name: flagParallelism, Usage: "the most operations in flight at once; within it, the pace Konnect answers at decides" + envHint(envs(flagParallelism)...), Value: apply.DefaultParallelism}
}

// parallelism reads --parallelism.
func parallelism(c *cli.Context) (int, error) {
	v := setting(c, flagParallelism, envs(flagParallelism)...)
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("--%s %s: want a number of at least 1", flagParallelism, shown(v))
	}
	return n, nil
}

// settings are the resolved connection flags.
type settings struct {
	// rps, rpsMax and rpsMin pace the client (0: its defaults).
	rps, rpsMax, rpsMin float64
	addr                string
	token               string
	controlPlane        string
	timeout             time.Duration
	selectTags          []string
	// Where addr, controlPlane and selectTags came from (see settingFrom).
	addrFrom, controlPlaneFrom, selectTagsFrom string
	// trace logs HTTP calls (--verbose), or only long waits.
	trace func(konnect.Event)
	// maxDuration bounds the run; unreachableAfter ends it when Konnect
	// stops answering.
	maxDuration, unreachableAfter time.Duration
	// allowHTTP: --allow-http.
	allowHTTP bool
	// warnings are said once the settings are read (p.readSettings).
	warnings []string
	bounds   bounds
	// created, when set, is told of the client once it exists (the
	// heartbeat reports its requests).
	created func(*konnect.Client)
}

func readSettings(c *cli.Context) (*settings, error) {
	s := &settings{}
	var err error
	s.addr, s.addrFrom = settingFrom(c, flagAddr, envs(flagAddr)...)
	s.controlPlane, s.controlPlaneFrom = settingFrom(c, flagControlPlane, envs(flagControlPlane)...)
	s.addr, s.controlPlane = strings.TrimSpace(s.addr), strings.TrimSpace(s.controlPlane)
	if region, from := settingFrom(c, flagRegion, "KVSYNC_KONNECT_REGION"); region != "" {
		if s.addrFrom != "default" {
			return nil, fmt.Errorf("--%s (from %s) and --%s (from %s) both give the address: give one", flagRegion, from, flagAddr, s.addrFrom)
		}
		if s.addr, err = konnect.RegionBaseURL(region); err != nil {
			return nil, fmt.Errorf("--%s (from %s): %w", flagRegion, from, err)
		}
		s.addrFrom = from
	}
	s.allowHTTP = c.Bool(flagAllowHTTP)
	warning, err := checkAddr(s.addr, s.addrFrom, s.allowHTTP)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		s.warnings = append(s.warnings, warning)
	}
	for _, d := range []struct {
		flag, env string
		to        *time.Duration
	}{{flagMaxDuration, "KVSYNC_MAX_DURATION", &s.maxDuration}, {flagUnreachableAfter, "KVSYNC_UNREACHABLE_AFTER", &s.unreachableAfter}} {
		v := setting(c, d.flag, d.env)
		if *d.to, err = time.ParseDuration(strings.TrimSpace(v)); err != nil || *d.to <= 0 {
			return nil, fmt.Errorf("--%s %s: want a duration like 30m", d.flag, shown(v))
		}
	}
	tags := c.StringSlice(flagSelectTag)
	s.selectTagsFrom = "--" + flagSelectTag
	if !c.IsSet(flagSelectTag) {
		s.selectTagsFrom = ""
		for _, v := range envs(flagSelectTag) {
			if val := os.Getenv(v); strings.TrimSpace(val) != "" {
				tags = strings.Split(val, ",")
				s.selectTagsFrom = v
				break
			}
		}
	}
	for _, t := range tags {
		if t = strings.TrimSpace(t); t != "" {
			s.selectTags = append(s.selectTags, t)
		}
	}
	if s.bounds, err = readBounds(c); err != nil {
		return nil, err
	}
	if s.timeout, err = parseTimeout(setting(c, flagTimeout, envs(flagTimeout)...)); err != nil {
		return nil, err
	}
	for _, r := range []struct {
		flag, env string
		to        *float64
	}{{flagRPS, "KVSYNC_RPS", &s.rps}, {flagRPSMax, "KVSYNC_RPS_MAX", &s.rpsMax}, {flagRPSMin, "KVSYNC_RPS_MIN", &s.rpsMin}} {
		v := setting(c, r.flag, r.env)
		if *r.to, err = strconv.ParseFloat(v, 64); err != nil || *r.to <= 0 {
			return nil, fmt.Errorf("--%s: want a number of requests per second above 0", r.flag)
		}
	}
	if path := setting(c, flagTokenFile, envs(flagTokenFile)...); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flagTokenFile, err)
		}
		s.token = strings.TrimSpace(string(data))
		if s.token == "" {
			return nil, fmt.Errorf("--%s: %s is empty", flagTokenFile, path)
		}
	} else {
		s.token = strings.TrimSpace(setting(c, flagToken, envs(flagToken)...))
	}
	if s.token == "" {
		return nil, errors.New("no Konnect token: pass --konnect-token-file or --konnect-token, or set KVSYNC_KONNECT_TOKEN (or DECK_KONNECT_TOKEN)")
	}
	return s, nil
}

// checkAddr refuses an address without a scheme, and http:// to another
// machine unless allowed.
// A warning is what allowed http:// to another machine costs.
func checkAddr(addr, from string, allowHTTP bool) (warning string, err error) {
	if !strings.Contains(addr, "://") {
		// The value is not echoed: a token pasted here must not show.
		return "", fmt.Errorf("--%s (from %s) needs a scheme: https://HOST, or http://127.0.0.1:PORT for the emulator", flagAddr, from)
	}
	if u, err := url.Parse(addr); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		if !allowHTTP {
			return "", fmt.Errorf("--%s (from %s) is http:// to %s, which is not this machine: the token would travel in clear; use https://, or pass --%s", flagAddr, from, u.Hostname(), flagAllowHTTP)
		}
		return fmt.Sprintf("--%s: the Konnect token and every secret value go to %s in clear (http://): anyone on the way can read them", flagAllowHTTP, u.Hostname()), nil
	}
	return "", nil
}

// parseTimeout accepts decK's plain seconds ("10") and Go durations ("10s").
func parseTimeout(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("--%s must be positive", flagTimeout)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--%s %s: want seconds or a duration like 30s", flagTimeout, shown(v))
	}
	return d, nil
}

func (s *settings) client() (*konnect.Client, error) {
	opts := konnect.Options{
		BaseURL:          s.addr,
		Token:            s.token,
		UserAgent:        "kvsync/" + kvsyncVersion(),
		RequestTimeout:   s.timeout,
		UnreachableAfter: s.unreachableAfter,
		Trace:            s.trace,
		InitialRate:      s.rps,
		MaxRate:          s.rpsMax,
		MinRate:          s.rpsMin,
	}
	s.bounds.apply(&opts)
	c, err := konnect.New(opts)
	if err != nil {
		return nil, err
	}
	if s.created != nil {
		s.created(c)
	}
	return c, nil
}

// format reads -o/--output, and remembers JSON so that an error is a JSON
// document too.
func (p *program) format(c *cli.Context) (render.Format, error) {
	v := setting(c, flagOutput, "KVSYNC_OUTPUT")
	f, err := render.ParseFormat(strings.ToLower(strings.TrimSpace(v)))
	if err != nil || v == "" {
		return "", fmt.Errorf("--output %s: want text, json or markdown", shown(v))
	}
	p.jsonErrors = f == render.JSON
	return f, nil
}

// isTerminal reports whether a stream is a character device (a terminal).
func isTerminal(stream any) bool {
	if l, ok := stream.(*lockedWriter); ok {
		stream = l.w
	}
	f, ok := stream.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// useColor: text output to a terminal, unless --no-color, NO_COLOR (any
// value, see no-color.org) or TERM=dumb says otherwise.
func useColor(c *cli.Context, w io.Writer, f render.Format) bool {
	return colorAllowed(f, c.Bool(flagNoColor), os.Getenv, isTerminal(w))
}

func colorAllowed(f render.Format, noColorFlag bool, getenv func(string) string, terminal bool) bool {
	if f != render.Text || noColorFlag || getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	return terminal
}

// showProgress: a terminal on stderr, text output, not in CI (where a
// line per operation shows instead).
func showProgress(w io.Writer, f render.Format) bool {
	return f == render.Text && os.Getenv("CI") == "" && isTerminal(w)
}

// tokenLike matches what could be a credential pasted into the wrong flag:
// Konnect's token prefixes, or a long run of letters, digits and symbols.
var tokenLike = regexp.MustCompile(`(?i)^(kpat|spat)_|^[A-Za-z0-9_\-+/=.]{24,}$`)

// shown quotes a flag's value for an error, unless it looks like a token:
// then it says so instead of echoing it.
func shown(v string) string {
	if tokenLike.MatchString(strings.TrimSpace(v)) {
		return "(a value that looks like a token, not shown)"
	}
	return strconv.Quote(v)
}

// isLoopback reports whether host is this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
