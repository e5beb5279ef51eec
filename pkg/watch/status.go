package watch

import (
	"bytes"
	"html/template"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kvsync/kvsync/pkg/diff/render"
)

// Handler serves the status page at /, the metrics at /metrics (from
// gatherer, or the watcher's own registry when nil), liveness at /healthz
// and readiness at /readyz.
func (w *Watcher) Handler(gatherer prometheus.Gatherer) http.Handler {
	if gatherer == nil {
		gatherer = w.Gatherer()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		probe(rw, w.Alive(), "the watch loop has not completed a cycle for too long")
	})
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) {
		probe(rw, w.Ready(), "not every control plane has been checked yet")
	})
	mux.HandleFunc("GET /{$}", w.statusPage)
	return mux
}

func probe(rw http.ResponseWriter, ok bool, why string) {
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !ok {
		rw.WriteHeader(http.StatusServiceUnavailable)
		_, _ = rw.Write([]byte(why + "\n"))
		return
	}
	_, _ = rw.Write([]byte("ok\n"))
}

// pageData is what the status page shows of one control plane.
type pageData struct {
	Name, Environment, State, Class, Checked, Succeeded, Err, Plan string
	Remediated, NotCompared                                        int
}

func (w *Watcher) statusPage(rw http.ResponseWriter, _ *http.Request) {
	now := w.cfg.Now()
	var planes []pageData
	for _, st := range w.Status() {
		d := pageData{Name: st.Name, Environment: st.Environment, State: st.state(), Checked: ago(now, st.Checked), Succeeded: ago(now, st.Succeeded), Err: st.Err, Remediated: st.Remediated}
		d.Class = map[string]string{"in sync": "ok", "drifted": "drift", "failing": "fail", "pending": "pending"}[d.State]
		if st.Plan != nil {
			d.NotCompared = st.Plan.NotCompared
		}
		if st.Plan != nil && !st.Plan.Empty() {
			var buf bytes.Buffer
			// The text rendering shows no value: plans hold none.
			if err := render.Plan(&buf, st.Plan, render.Text, render.Options{Scrub: w.cfg.Scrub}); err == nil {
				d.Plan = w.cfg.Scrub(buf.String())
			}
		}
		planes = append(planes, d)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, struct {
		Planes    []pageData
		Remediate bool
		Now       string
	}{planes, w.cfg.Remediate, now.UTC().Format(time.RFC3339)}); err != nil {
		http.Error(rw, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The page is self-contained: no script, style sheet, font or image
	// from anywhere.
	rw.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	rw.Header().Set("Cache-Control", "no-store")
	_, _ = rw.Write(buf.Bytes())
}

// ago says when, relative to now, for a person: "12s ago (2026-12-03
// 18:09:16 UTC)".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String() + " ago (" + t.UTC().Format("2006-01-02 15:04:05 MST") + ")"
}

var page = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>kvsync watch</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0 auto; padding: 1rem; max-width: 60rem; color: #1a1a1a; background: #fafafa; }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
.sub { color: #555; font-size: .9rem; margin-bottom: 1rem; }
section { background: #fff; border: 1px solid #ddd; border-left-width: .5rem; border-radius: .4rem; padding: .75rem 1rem; margin-bottom: 1rem; }
section.ok { border-left-color: #1a7f37; }
section.drift { border-left-color: #bf8700; }
section.fail { border-left-color: #cf222e; }
section.pending { border-left-color: #888; }
h2 { font-size: 1.1rem; margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; font-size: .85rem; font-weight: 600; padding: .1rem .5rem; border-radius: 1rem; color: #fff; margin-left: .5rem; vertical-align: middle; }
.ok .badge { background: #1a7f37; } .drift .badge { background: #bf8700; } .fail .badge { background: #cf222e; } .pending .badge { background: #888; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .75rem; margin: .5rem 0; font-size: .9rem; }
dt { color: #555; } dd { margin: 0; overflow-wrap: anywhere; }
pre { background: #f3f3f3; padding: .5rem; border-radius: .3rem; overflow-x: auto; font-size: .8rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.err { color: #cf222e; overflow-wrap: anywhere; }
.note { color: #555; font-size: .85rem; margin-bottom: 0; }
</style>
</head>
<body>
<h1>kvsync watch</h1>
<div class="sub">{{len .Planes}} control plane{{if ne (len .Planes) 1}}s{{end}} · {{if .Remediate}}remediating creates and updates{{else}}read-only{{end}} · page made {{.Now}}</div>
{{range .Planes}}
<section class="{{.Class}}">
<h2>{{if .Environment}}{{.Environment}}: {{end}}{{.Name}}<span class="badge">{{.State}}</span></h2>
<dl>
<dt>Last check</dt><dd>{{.Checked}}</dd>
<dt>Last success</dt><dd>{{.Succeeded}}</dd>
{{if .Remediated}}<dt>Remediated</dt><dd>{{.Remediated}} change{{if ne .Remediated 1}}s{{end}} in the last cycle</dd>{{end}}
</dl>
{{if .NotCompared}}<p class="note">{{.NotCompared}} secret value{{if ne .NotCompared 1}}s{{end}} not compared: kvsync.sum was made with another fingerprint key, or none is kept.</p>{{end}}
{{if .Err}}<p class="err">Check failed: {{.Err}}</p>{{end}}
{{if .Plan}}{{if .Err}}<p class="note">Pending at the last successful check:</p>{{end}}<pre>{{.Plan}}</pre>{{else if eq .State "in sync"}}<p>No changes.</p>{{end}}
</section>
{{end}}
</body>
</html>
`))
