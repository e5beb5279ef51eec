package watch

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kvsync/kvsync/pkg/diff"
	"github.com/kvsync/kvsync/pkg/konnect"
)

// metrics follow Prometheus' conventions: a kvsync_ prefix, base units
// (seconds), _total for counters, _timestamp_seconds for times. Labels
// hold closed sets only (kinds, actions, reasons, status classes) and
// control plane names, never a value, a token or an error's text.
type metrics struct {
	inSync        *prometheus.GaugeVec
	failing       *prometheus.GaugeVec
	pending       *prometheus.GaugeVec
	notCompared   *prometheus.GaugeVec
	lastCheck     *prometheus.GaugeVec
	lastSuccess   *prometheus.GaugeVec
	checks        *prometheus.CounterVec
	checkFailures *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	remediations  *prometheus.CounterVec
	cycles        prometheus.Counter
	requests      *prometheus.CounterVec
	rateLimited   prometheus.Counter
	retries       prometheus.Counter
}

const planeLabel = "control_plane"

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	plane := []string{planeLabel}
	m := &metrics{
		inSync: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kvsync_in_sync",
			Help: "1 when the last successful check of the control plane found nothing to change, 0 when it found drift."}, plane),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kvsync_check_failing",
			Help: "1 when the last check of the control plane failed (Konnect unreachable, a file invalid, ...), else 0."}, plane),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kvsync_pending_changes",
			Help: "Changes the last successful check would make, by kind, action and reason."}, []string{planeLabel, "kind", "action", "reason"}),
		notCompared: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kvsync_values_not_compared",
			Help: "Known secret values the last successful check could not compare (kvsync.sum keyed otherwise, or not kept)."}, plane),
		lastCheck: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kvsync_last_check_timestamp_seconds",
			Help: "When the last check of the control plane ended, successful or not (Unix time)."}, plane),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kvsync_last_successful_check_timestamp_seconds",
			Help: "When the last successful check of the control plane ended (Unix time)."}, plane),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kvsync_checks_total",
			Help: "Checks of the control plane, by result (success or failure)."}, []string{planeLabel, "result"}),
		checkFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kvsync_check_failures_total",
			Help: "Failed checks of the control plane, by class (unreachable, unauthorized, timeout, invalid_file, remediation, error)."}, []string{planeLabel, "class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kvsync_check_duration_seconds",
			Help:    "How long a check of the control plane took (a remediation included).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}}, plane),
		remediations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kvsync_remediations_total",
			Help: "Changes remediation applied, by kind, action and result (succeeded, failed, skipped, not_started)."}, []string{planeLabel, "kind", "action", "result"}),
		cycles: prometheus.NewCounter(prometheus.CounterOpts{Name: "kvsync_watch_cycles_total",
			Help: "Cycles the watcher completed (each checks every control plane once)."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kvsync_konnect_requests_total",
			Help: "HTTP requests to Konnect, by status class (2xx, 3xx, 4xx, 5xx; none when no answer came)."}, []string{"code"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{Name: "kvsync_konnect_rate_limited_total",
			Help: "Konnect answers 429 Too Many Requests."}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "kvsync_konnect_retries_total",
			Help: "Requests to Konnect repeated after a 429, a 5xx or a failed connection."}),
	}
	for _, c := range []prometheus.Collector{m.inSync, m.failing, m.pending, m.notCompared, m.lastCheck, m.lastSuccess,
		m.checks, m.checkFailures, m.duration, m.remediations, m.cycles, m.requests, m.rateLimited, m.retries} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, class := range []string{"2xx", "3xx", "4xx", "5xx", "none"} {
		m.requests.WithLabelValues(class)
	}
	return m, nil
}

// init makes a control plane's series exist from the start, so that
// rate() and absent() work before anything happened.
func (m *metrics) init(plane string) {
	m.failing.WithLabelValues(plane).Set(0)
	m.checks.WithLabelValues(plane, "success")
	m.checks.WithLabelValues(plane, "failure")
	for _, class := range failureClasses {
		m.checkFailures.WithLabelValues(plane, class)
	}
}

// observe records one check. A failed check leaves the last successful
// check's view (in sync, pending changes) as it was: it says nothing new
// about drift, and kvsync_check_failing says the view is getting old.
func (m *metrics) observe(plane string, end time.Time, took time.Duration, p *diff.Plan, err error) {
	m.lastCheck.WithLabelValues(plane).Set(float64(end.UnixNano()) / 1e9)
	m.duration.WithLabelValues(plane).Observe(took.Seconds())
	if err != nil {
		m.failing.WithLabelValues(plane).Set(1)
		m.checks.WithLabelValues(plane, "failure").Inc()
		m.checkFailures.WithLabelValues(plane, errorClass(err)).Inc()
		return
	}
	m.failing.WithLabelValues(plane).Set(0)
	m.checks.WithLabelValues(plane, "success").Inc()
	m.lastSuccess.WithLabelValues(plane).Set(float64(end.UnixNano()) / 1e9)
	m.inSync.WithLabelValues(plane).Set(boolFloat(p.Empty()))
	m.notCompared.WithLabelValues(plane).Set(float64(p.NotCompared))
	m.pending.DeletePartialMatch(prometheus.Labels{planeLabel: plane})
	for _, ch := range p.Changes {
		m.pending.WithLabelValues(plane, string(ch.Kind), string(ch.Action), string(ch.Reason)).Inc()
	}
}

// trace counts one HTTP attempt, or one retry's wait (an event without a
// duration: see konnect.Event).
func (m *metrics) trace(e konnect.Event) {
	if e.Retry > 0 || e.Duration == 0 {
		m.retries.Inc()
		return
	}
	m.requests.WithLabelValues(statusClass(e.Status)).Inc()
	if e.Status == 429 {
		m.rateLimited.Inc()
	}
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "none"
	}
	return strconv.Itoa(status/100) + "xx"
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
