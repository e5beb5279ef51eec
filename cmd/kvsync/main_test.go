package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/konnect/konnecttest"
)

// TestMain makes the test binary double as the kvsync command for the
// scripts (testscript runs it as a subprocess, so signals, exit codes and
// environment behave as for the real binary).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kvsync": func() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar, each against an emulator of its
// own. Besides testscript's commands they have:
//
//	gateway [CONTROL-PLANE]       create my-control-plane (or that one), example-service, example-route
//	exitcode N PROG [ARGS...]     run PROG (output kept for stdout/stderr) and require exit status N
//	requests N                    the emulator served exactly N requests since the last reset (>N: more than N)
//	writes N                      ... of which exactly N were not GETs (>N: more than N)
//	requests reset                zero the counters
//	faults off | KEY=VALUE...     error=RATE drop=RATE rate=RPS burst=N seed=N
//	                              rule=METHOD:PATH-PART:STATUS[:TIMES] (repeatable)
//	secretvalue STORE KEY ENV     the stored secret equals $ENV (never printed)
//	putsecret STORE KEY VALUE     write a secret directly through the API (out of band)
//	secretwrites N                ... of which exactly N wrote or deleted a secret
//	mksecret STORE KEY ENV        create a secret with the value of $ENV, out of band (never printed)
//	api METHOD PATH [JSON]        a request to my-control-plane's PATH (/config-stores, /core-entities/...),
//	                              {store:NAME} replaced by that store's id; fails unless it answers 2xx
//	hold METHOD PATH-PART         park the next matching request until release
//	holdwait                      wait (bounded) until the held request has arrived
//	release                       let the held request go on
//	controlplanes NAME...         create control planes; $CP_NAME (- as _) holds each one's id
//	cpgroup NAME MEMBER...        create a control plane group with those members (created too)
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			srv := konnecttest.NewServer(konnecttest.Options{Token: "kpat_test_fake_0000"})
			env.Defer(srv.Close)
			env.Values["srv"] = srv
			env.Values["hold"] = &heldRequest{}
			env.Setenv("KVSYNC_KONNECT_ADDR", srv.URL)
			env.Setenv("KVSYNC_KONNECT_TOKEN", srv.Token)
			env.Setenv("MISTRAL_API_KEY", "fake-mistral-key-0000")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"gateway":       cmdGateway,
			"exitcode":      cmdExitCode,
			"requests":      cmdRequests,
			"writes":        cmdWrites,
			"faults":        cmdFaults,
			"secretvalue":   cmdSecretValue,
			"putsecret":     cmdPutSecret,
			"mksecret":      cmdMkSecret,
			"secretwrites":  cmdSecretWrites,
			"api":           cmdAPI,
			"hold":          cmdHold,
			"holdwait":      cmdHoldWait,
			"release":       cmdRelease,
			"jsondoc":       cmdJSONDoc,
			"controlplanes": cmdControlPlanes,
			"cpgroup":       cmdControlPlaneGroup,
		},
	})
}

func server(ts *testscript.TestScript) *konnecttest.Server {
	return ts.Value("srv").(*konnecttest.Server)
}

func noNeg(ts *testscript.TestScript, neg bool, name string) {
	if neg {
		ts.Fatalf("%s does not support !", name)
	}
}

func cmdControlPlanes(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "controlplanes")
	for _, name := range args {
		ts.Setenv("CP_"+strings.ReplaceAll(name, "-", "_"), server(ts).AddControlPlane(name))
	}
}

func cmdControlPlaneGroup(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "cpgroup")
	if len(args) < 1 {
		ts.Fatalf("usage: cpgroup NAME MEMBER...")
	}
	server(ts).AddControlPlaneGroup(args[0], args[1:]...)
}

func cmdGateway(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "gateway")
	srv := server(ts)
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: srv.Token, NoPacing: true})
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := "my-control-plane"
	if len(args) > 0 {
		name = args[0]
	}
	cpID := srv.AddControlPlane(name)
	svc, err := c.Services.Create(ctx, cpID, konnect.Service{Name: "example-service", URL: "http://httpbin.konghq.com/anything"})
	ts.Check(err)
	_, err = c.Routes.Create(ctx, cpID, konnect.Route{Name: "example-route", Paths: []string{"/anything"},
		Service: &konnect.ForeignKey{ID: svc.ID}})
	ts.Check(err)
	srv.ResetCounts()
}

func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "exitcode")
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

func count(ts *testscript.TestScript, writesOnly bool) int {
	n := 0
	for k, v := range server(ts).Counts() {
		if !writesOnly || !strings.HasPrefix(k, "GET ") {
			n += v
		}
	}
	return n
}

func cmdRequests(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "requests")
	if len(args) != 1 {
		ts.Fatalf("usage: requests N | reset")
	}
	if args[0] == "reset" {
		server(ts).ResetCounts()
		return
	}
	checkCount(ts, "requests", count(ts, false), args[0])
}

func cmdWrites(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "writes")
	if len(args) != 1 {
		ts.Fatalf("usage: writes N")
	}
	checkCount(ts, "writes", count(ts, true), args[0])
}

// cmdJSONDoc checks that the last command's standard output is exactly one
// JSON document (what `| jq` or json.load reads).
func cmdJSONDoc(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "jsondoc")
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile("stdout")))
	var doc any
	if err := dec.Decode(&doc); err != nil {
		ts.Fatalf("standard output is not a JSON document: %v", err)
	}
	if dec.More() {
		ts.Fatalf("standard output holds more than one JSON document")
	}
	if _, err := dec.Token(); err != io.EOF {
		ts.Fatalf("standard output goes on after its JSON document")
	}
}

// checkCount compares a count with "N" (exactly) or ">N" (more than).
func checkCount(ts *testscript.TestScript, what string, got int, spec string) {
	more := strings.HasPrefix(spec, ">")
	want, err := strconv.Atoi(strings.TrimPrefix(spec, ">"))
	ts.Check(err)
	if (more && got <= want) || (!more && got != want) {
		ts.Fatalf("emulator served %d %s, want %s: %v", got, what, spec, server(ts).Counts())
	}
}

func cmdFaults(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "faults")
	var f konnecttest.Faults
	for _, a := range args {
		if a == "off" {
			continue
		}
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("faults: want KEY=VALUE, got %q", a)
		}
		var err error
		switch k {
		case "error":
			f.ErrorRate, err = strconv.ParseFloat(v, 64)
		case "drop":
			f.DropRate, err = strconv.ParseFloat(v, 64)
		case "rate":
			f.RateLimit, err = strconv.ParseFloat(v, 64)
		case "burst":
			f.RateBurst, err = strconv.Atoi(v)
		case "seed":
			f.Seed, err = strconv.ParseInt(v, 10, 64)
		case "rule":
			parts := strings.Split(v, ":")
			if len(parts) < 3 {
				ts.Fatalf("faults: rule=METHOD:PATH-PART:STATUS[:TIMES]")
			}
			r := konnecttest.FaultRule{Method: parts[0], PathContains: parts[1]}
			if r.Status, err = strconv.Atoi(parts[2]); err == nil && len(parts) > 3 {
				r.Times, err = strconv.Atoi(parts[3])
			}
			f.Rules = append(f.Rules, r)
		default:
			ts.Fatalf("faults: unknown key %q", k)
		}
		ts.Check(err)
	}
	server(ts).SetFaults(f)
}

// storeOf returns a client, the control plane id and the id of a store of
// my-control-plane.
func storeOf(ts *testscript.TestScript, name string) (*konnect.Client, string, string) {
	srv := server(ts)
	c, err := konnect.New(konnect.Options{BaseURL: srv.URL, Token: srv.Token, NoPacing: true})
	ts.Check(err)
	cpID := srv.ControlPlaneID("my-control-plane")
	stores, err := c.ConfigStores.List(context.Background(), cpID, nil)
	ts.Check(err)
	for _, s := range stores {
		if s.Name == name {
			return c, cpID, s.ID
		}
	}
	ts.Fatalf("no config store %s", name)
	return nil, "", ""
}

func cmdPutSecret(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "putsecret")
	if len(args) != 3 {
		ts.Fatalf("usage: putsecret STORE KEY VALUE")
	}
	c, cpID, storeID := storeOf(ts, args[0])
	_, err := c.Secrets.Update(context.Background(), cpID, storeID, args[1], konnect.Plaintext(args[2]))
	ts.Check(err)
}

// holdWaitLimit bounds holdwait, so that a run that never reaches the held
// request fails the script instead of hanging it.
const holdWaitLimit = 30 * time.Second

func cmdHold(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "hold")
	if len(args) != 2 {
		ts.Fatalf("usage: hold METHOD PATH-PART")
	}
	h := ts.Value("hold").(*heldRequest)
	h.arrived, h.release = server(ts).Hold(args[0], args[1])
	ts.Defer(h.release)
}

// heldRequest is the script's hold, if any.
type heldRequest struct {
	arrived <-chan struct{}
	release func()
}

func cmdHoldWait(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "holdwait")
	h := ts.Value("hold").(*heldRequest)
	if h.arrived == nil {
		ts.Fatalf("holdwait without hold")
	}
	select {
	case <-h.arrived:
	case <-time.After(holdWaitLimit):
		ts.Fatalf("the held request did not arrive within %s", holdWaitLimit)
	}
}

func cmdRelease(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "release")
	h := ts.Value("hold").(*heldRequest)
	if h.release == nil {
		ts.Fatalf("release without hold")
	}
	h.release()
}

func cmdSecretValue(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: secretvalue STORE KEY ENV")
	}
	srv := server(ts)
	_, cpID, storeID := storeOf(ts, args[0])
	got, ok := srv.SecretValue(cpID, storeID, args[1])
	// Never print the values: only whether they match.
	match := ok && got == ts.Getenv(args[2])
	if match == neg {
		ts.Fatalf("secret %s/%s: stored value matches $%s: %v, want %v", args[0], args[1], args[2], match, !neg)
	}
}

func cmdMkSecret(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "mksecret")
	if len(args) != 3 {
		ts.Fatalf("usage: mksecret STORE KEY ENV")
	}
	c, cpID, storeID := storeOf(ts, args[0])
	_, err := c.Secrets.Create(context.Background(), cpID, storeID, args[1], konnect.Plaintext(ts.Getenv(args[2])))
	ts.Check(err)
}

func cmdSecretWrites(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "secretwrites")
	if len(args) != 1 {
		ts.Fatalf("usage: secretwrites N")
	}
	n := 0
	for k, v := range server(ts).Counts() {
		if !strings.HasPrefix(k, "GET ") && strings.Contains(k, "/secrets") {
			n += v
		}
	}
	checkCount(ts, "secret writes", n, args[0])
}

var storeRef = regexp.MustCompile(`\{store:([^}]+)\}`)

func cmdAPI(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "api")
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: api METHOD PATH [JSON]")
	}
	srv := server(ts)
	resolve := func(s string) string {
		return storeRef.ReplaceAllStringFunc(s, func(m string) string {
			_, _, id := storeOf(ts, storeRef.FindStringSubmatch(m)[1])
			return id
		})
	}
	var body io.Reader
	if len(args) == 3 {
		body = strings.NewReader(resolve(args[2]))
	}
	url := srv.URL + "/v2/control-planes/" + srv.ControlPlaneID("my-control-plane") + resolve(args[1])
	req, err := http.NewRequest(args[0], url, body)
	ts.Check(err)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		ts.Fatalf("%s %s: %s: %s", args[0], args[1], resp.Status, raw)
	}
}
