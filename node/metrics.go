package node

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the kiosk's Prometheus series, on a registry of its own so that several nodes in
// one process (tests) never collide.
type metrics struct {
	reg             *prometheus.Registry
	checkouts       *prometheus.CounterVec
	enrolments      *prometheus.CounterVec
	walkins         prometheus.Counter
	checkoutSeconds prometheus.Histogram
	commitSeconds   prometheus.Histogram
	applyErrors     prometheus.Counter
	uploaded        prometheus.Counter
	reconcileErrors prometheus.Counter
	cloudUp         prometheus.Gauge
}

func newMetrics(n *Node) *metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &metrics{
		reg: reg,
		checkouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palmtill_checkouts_total", Help: "Checkout requests by outcome (ok or an error code).",
		}, []string{"result"}),
		enrolments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palmtill_enrolments_total", Help: "Enrolment requests by outcome (ok or an error code).",
		}, []string{"result"}),
		walkins: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palmtill_unrecognised_palms_total", Help: "Checkouts refused because the palm matched nobody.",
		}),
		checkoutSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "palmtill_checkout_seconds", Help: "Successful checkout time, capture to committed charge.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 12),
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "palmtill_charge_commit_seconds", Help: "Time to commit a charge through Raft, forwarding included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		applyErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palmtill_apply_errors_total", Help: "Writes the store could not commit (no leader, timeout).",
		}),
		uploaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palmtill_reconcile_uploaded_total", Help: "Charges the cloud accepted from this kiosk while it led.",
		}),
		reconcileErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palmtill_reconcile_errors_total", Help: "Failed cloud uploads (each is retried with backoff).",
		}),
		cloudUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "palmtill_cloud_up", Help: "1 if the last cloud upload succeeded, 0 if it failed.",
		}),
	}
	for _, c := range []prometheus.Collector{m.checkouts, m.enrolments, m.walkins, m.checkoutSeconds,
		m.commitSeconds, m.applyErrors, m.uploaded, m.reconcileErrors, m.cloudUp} {
		f(c)
	}
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "palmtill_is_leader", Help: "1 if this kiosk leads the store's Raft cluster.",
	}, func() float64 {
		if n.cluster != nil && n.cluster.IsLeader() {
			return 1
		}
		return 0
	}))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "palmtill_gallery_customers", Help: "Customers in the in-memory matching gallery.",
	}, func() float64 {
		if g := n.currentGallery(); g != nil {
			return float64(g.Len())
		}
		return 0
	}))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "palmtill_match_threshold",
		Help: "Score a palm needs to be charged; it rises with the number of customers so that walk-ins are matched to nobody (matchcore TargetFPIR).",
	}, func() float64 {
		if g := n.currentGallery(); g != nil {
			return g.Threshold()
		}
		return 0
	}))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "palmtill_raft_applied_index", Help: "Last Raft index applied to this kiosk's state.",
	}, func() float64 {
		if n.fsm != nil {
			return float64(n.fsm.Stats().AppliedIndex)
		}
		return 0
	}))
	return m
}
