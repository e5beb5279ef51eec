package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/urfave/cli/v2"
)

// Exit statuses. diff --exit-code uses exitChanges and exitNotCompared;
// errors win over both.
const (
	exitOK          = 0
	exitError       = 1
	exitChanges     = 2
	exitNotCompared = 3
	// exitSomeEnvironmentsFailed: a run over environments in which some
	// failed while the others were planned or applied.
	exitSomeEnvironmentsFailed = 5
)

// errChangesPending ends a diff --exit-code that found changes: exit 2, no
// message (the plan was printed). errNotCompared ends one that found none
// but could not compare every value it was asked to: exit 3, as silent (the
// plan's verdict and notes say why).
var (
	errChangesPending = errors.New("changes pending")
	errNotCompared    = errors.New("values not compared")
)

func init() {
	// -v is --verbose on the commands; the version is --version alone,
	// printed as `kvsync version` prints it.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	cli.VersionPrinter = printVersion
}

// program is one invocation: its streams and what error messages must
// never show.
type program struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// secrets are scrubbed from error messages as a last line of defence
	// (the token, once read). kvsync watch reads the token every cycle
	// while its status page scrubs, hence the lock.
	secretsMu sync.Mutex
	secrets   []string
	// failed is set by handlers that cannot return an error (unknown
	// command).
	failed bool
	// jsonErrors: the command's output is JSON, so an error is written to
	// standard output as a JSON document too.
	jsonErrors bool
	// jsonWritten: the command has written its JSON document (a sync's
	// report, failures included); an error then adds nothing to standard
	// output, which must stay one document.
	jsonWritten bool
	// interactive reports whether a person can answer a question: standard
	// input and error are terminals. Tests replace it.
	interactive func() bool
	// beat is the run's heartbeat while one runs (outside a terminal).
	beat atomic.Pointer[heartbeat]
	// quitting is what a second interrupt does before the process ends.
	quitting quitHooks
	// warned holds the settings' warnings already printed: kvsync watch
	// reads its settings every cycle and must not repeat them every cycle.
	warned sync.Map
}

// warnOnce prints a warning the first time the process meets it.
func (p *program) warnOnce(w string) {
	if _, seen := p.warned.LoadOrStore(w, true); !seen {
		fmt.Fprintln(p.stderr, "Warning: "+w)
	}
}

// run is the whole program; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	p := &program{stdin: stdin}
	p.stdout, p.stderr = &lockedWriter{w: stdout, wrote: p.wrote}, &lockedWriter{w: stderr, wrote: p.wrote}
	p.interactive = func() bool { return isTerminal(stdin) && isTerminal(stderr) }
	return p.run(args)
}

// lockedWriter serialises the writes of a stream that several goroutines
// print to (progress lines from the apply's results, -v lines from the
// client's workers), whatever the writer is.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
	// wrote, when set, is told of every write (the heartbeat).
	wrote func()
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wrote != nil {
		defer l.wrote()
	}
	return l.w.Write(b)
}

func (p *program) run(args []string) int {
	app := p.app()
	if !completing(args) {
		args = intersperse(app, hoistFlags(app, args))
	}
	err := app.Run(args)
	switch {
	case err == nil && p.failed:
		return exitError
	case err == nil:
		return exitOK
	case errors.Is(err, errChangesPending):
		return exitChanges
	case errors.Is(err, errNotCompared):
		return exitNotCompared
	case isDeletesLeftOut(err):
		p.printError(err)
		return exitDeletesLeftOut
	}
	var some *errSomeEnvironmentsFailed
	if errors.As(err, &some) {
		p.printError(err)
		return exitSomeEnvironmentsFailed
	}
	p.printError(err)
	return exitError
}

// printError writes one line per problem, each prefixed, with secrets
// scrubbed; under GitHub Actions also one annotation per problem, and with
// -o json also a JSON document on standard output (unless the command wrote
// its own), so that `| jq` never reads nothing, nor two documents.
func (p *program) printError(err error) {
	problems := p.problemsOf(err)
	for _, pr := range problems {
		for _, line := range strings.Split(strings.TrimRight(pr.text, "\n"), "\n") {
			fmt.Fprintln(p.stderr, "Error: "+line)
		}
	}
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		// The runner reads workflow commands from either stream; JSON
		// output keeps standard output to the document alone.
		to := p.stdout
		if p.jsonErrors {
			to = p.stderr
		}
		for _, pr := range problems {
			fmt.Fprintln(to, pr.annotation())
		}
	}
	if p.jsonErrors && !p.jsonWritten {
		doc := struct {
			FormatVersion string `json:"format_version"`
			Error         struct {
				Message  string         `json:"message"`
				Problems []errorProblem `json:"problems"`
			} `json:"error"`
		}{FormatVersion: diff.FormatVersion}
		doc.Error.Problems = problems
		lines := make([]string, len(problems))
		for i, pr := range problems {
			lines[i] = pr.text
		}
		doc.Error.Message = strings.Join(lines, "\n")
		raw, _ := json.MarshalIndent(doc, "", "  ")
		fmt.Fprintln(p.stdout, string(raw))
	}
}

// errorProblem is one problem of an error, located when it is about a
// place in a file.
type errorProblem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	// text is the whole problem as printed: "file:line:col: path: message".
	text string
}

// annotation is the GitHub Actions workflow command for the problem.
func (e errorProblem) annotation() string {
	data := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	prop := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	msg := e.Message
	if e.Path != "" {
		msg = e.Path + ": " + msg
	}
	switch {
	case e.File == "":
		return "::error::" + data.Replace(msg)
	case e.Line == 0:
		return fmt.Sprintf("::error file=%s::%s", prop.Replace(e.File), data.Replace(msg))
	}
	return fmt.Sprintf("::error file=%s,line=%d,col=%d::%s", prop.Replace(e.File), e.Line, e.Column, data.Replace(msg))
}

// problemsOf splits an error into its problems: a file's located
// problems, an aggregate's members, or the error itself; all scrubbed.
func (p *program) problemsOf(err error) []errorProblem {
	var located *state.Problems
	if errors.As(err, &located) {
		var out []errorProblem
		for _, pr := range located.List() {
			out = append(out, errorProblem{File: pr.Pos.File, Line: pr.Pos.Line, Column: pr.Pos.Column, Path: pr.Path,
				Message: p.scrub(pr.Message), text: p.scrub(pr.Error())})
		}
		return out
	}
	errs := []error{err}
	// An aggregate (the plan's problems) prints one problem per line,
	// without go-multierror's "N errors occurred" framing.
	var merr *multierror.Error
	if errors.As(err, &merr) && len(merr.Errors) > 0 {
		errs = merr.Errors
	}
	out := make([]errorProblem, 0, len(errs))
	for _, e := range errs {
		msg := p.scrub(e.Error())
		out = append(out, errorProblem{Message: msg, text: msg})
	}
	if errors.Is(err, context.DeadlineExceeded) {
		hint := "the run reached its --max-duration and stopped; run it again (a re-run converges), with a longer --max-duration if the work needs it"
		out = append(out, errorProblem{Message: hint, text: hint})
	}
	if konnect.IsUnauthorized(err) {
		hint := "Konnect refused the token: check it (--konnect-token-file, KVSYNC_KONNECT_TOKEN or DECK_KONNECT_TOKEN) and its region: a token works only at its region's address (--konnect-addr, e.g. https://eu.api.konghq.com)"
		out = append(out, errorProblem{Message: hint, text: hint})
	}
	return out
}

// scrub replaces any secret the program knows of in a message, and
// anything shaped like a Konnect token (one pasted into the wrong flag,
// which a flag parser would echo).
func (p *program) scrub(msg string) string {
	p.secretsMu.Lock()
	defer p.secretsMu.Unlock()
	for _, s := range p.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "(redacted)")
		}
	}
	return konnectToken.ReplaceAllString(msg, "(a token, not shown)")
}

// keepSecret adds a text that messages must never show (once).
func (p *program) keepSecret(s string) {
	p.secretsMu.Lock()
	defer p.secretsMu.Unlock()
	if s != "" && !slices.Contains(p.secrets, s) {
		p.secrets = append(p.secrets, s)
	}
}

// konnectToken matches Konnect's personal and system account tokens.
var konnectToken = regexp.MustCompile(`\b(kpat|spat)_[A-Za-z0-9_]+`)

func (p *program) app() *cli.App {
	usageError := func(c *cli.Context, err error, _ bool) error {
		name := "kvsync"
		if c.Command != nil && c.Command.Name != "" && c.Command.Name != name {
			name += " " + c.Command.Name
		}
		return fmt.Errorf("%v (see %s --help)", err, name)
	}
	commands := []*cli.Command{
		p.diffCommand(),
		p.syncCommand(),
		p.applyCommand(),
		p.showCommand(),
		p.unlockCommand(),
		p.validateCommand(),
		p.dumpCommand(),
		p.watchCommand(),
		{
			Name:  "version",
			Usage: "print kvsync's version",
			Action: func(c *cli.Context) error {
				printVersion(c)
				return nil
			},
		},
		p.completionCommand(),
	}
	for _, cmd := range commands {
		cmd.OnUsageError = usageError
	}
	categorize(commands)
	return &cli.App{
		Name:      "kvsync",
		Usage:     "manage Kong Konnect config stores, secrets, vaults and plugins declaratively",
		Version:   kvsyncVersion(),
		Reader:    p.stdin,
		Writer:    p.stdout,
		ErrWriter: p.stderr,
		Suggest:   true,
		// Completion candidates for the scripts of `kvsync completion`.
		EnableBashCompletion: true,
		Commands:             commands,
		OnUsageError:         usageError,
		// Errors are printed by run, once, without usage; urfave must
		// not exit the process itself.
		ExitErrHandler: func(*cli.Context, error) {},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(p.stderr, "Error: unknown command %q (see kvsync --help)\n", name)
			p.failed = true
		},
	}
}

// readSettings resolves the connection flags and remembers the token so
// that no error message can carry it.
func (p *program) readSettings(c *cli.Context) (*settings, error) {
	s, err := readSettings(c)
	if err != nil {
		return nil, err
	}
	p.keepSecret(s.token)
	s.created = p.watchClient
	for _, w := range s.warnings {
		p.warnOnce(w)
	}
	verbose := c.Bool(flagVerbose)
	{
		var mu sync.Mutex
		s.trace = func(e konnect.Event) {
			// Quiet runs still show long waits, so that a CI log never
			// goes silent.
			if !verbose && e.Retry < longWait {
				return
			}
			line := fmt.Sprintf("kvsync: %s %s", e.Method, e.Path)
			switch {
			case e.Retry > 0:
				line += fmt.Sprintf(": waiting %s before the next attempt", e.Retry.Round(time.Millisecond))
				if e.Status == http.StatusTooManyRequests {
					line += " (rate limited)"
				}
			case e.Status == 0:
				line += fmt.Sprintf(" -> no answer after %s", e.Duration.Round(time.Millisecond))
			default:
				line += fmt.Sprintf(" -> %d in %s", e.Status, e.Duration.Round(time.Millisecond))
			}
			if e.Paced >= time.Millisecond {
				line += fmt.Sprintf(" (paced %s)", e.Paced.Round(time.Millisecond))
			}
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintln(p.stderr, p.scrub(line))
		}
	}
	// A token copied from an Authorization header: kvsync adds the scheme.
	if scheme, rest, ok := strings.Cut(s.token, " "); ok && strings.EqualFold(scheme, "bearer") {
		s.token = strings.TrimSpace(rest)
		p.keepSecret(s.token)
		p.warnOnce(`the Konnect token starts with "Bearer ": kvsync sends it as a bearer token itself, so the prefix was removed.`)
	}
	return s, nil
}

// longWait is the shortest wait for a retry that a quiet run reports.
const longWait = 3 * time.Second

// runContext is cancelled by the first SIGINT or SIGTERM, which it
// announces; a second one ends the process at once, releasing the lock on
// its way out when that takes under a second (see quit). It ends at
// maxDuration when that is set.
func (p *program) runContext(maxDuration time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	if maxDuration > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, maxDuration)
		prev := cancel
		cancel = func() { cancelTimeout(); prev() }
	}
	var deadline time.Time
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	stopBeat := p.startHeartbeat(deadline)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(p.stderr, "\nkvsync: %v: starting nothing new, finishing what is in flight (interrupt again to quit at once)\n", s)
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			signal.Stop(sigs)
			p.quit()
		case <-done:
		}
	}()
	return ctx, func() {
		stopBeat()
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// intersperse lets flags follow the file arguments (`kvsync diff
// kvsync.yaml --exit-code`), which urfave/cli v2 does not: the command's
// flags, with their values, move before its positional arguments. "--"
// ends flags as usual.
func intersperse(app *cli.App, args []string) []string {
	if len(args) < 3 {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		tv := false
		if d, ok := f.(cli.DocGenerationFlag); ok {
			tv = d.TakesValue()
		}
		for _, n := range f.Names() {
			takesValue[n] = tv
		}
	}
	var flags, positional []string
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if takesValue[name] && i+1 < len(rest) {
			i++
			flags = append(flags, rest[i])
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	if len(positional) > 0 && positional[0] != "--" {
		out = append(out, "--")
	}
	return append(out, positional...)
}
