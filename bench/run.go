package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// runner runs one scenario: its phases share the server probe and the
// printer.
type runner struct {
	cfg    Config
	plan   plan
	out    printer
	proc   *ProcReader
	rssMax int64
}

// phase is one stretch of load: the pre-fill or the measured run.
type phase struct {
	name    string
	publish bool
	consume bool
	window  int           // confirm window, 0 = no confirms
	count   int64         // publish budget, 0 = unbounded
	limit   time.Duration // wall-clock bound
	drain   int64         // stop once this many were received, 0 = never
	rate    float64
	maxLag  int64 // producers wait while more deliveries are outstanding
}

// phaseResult is what a phase measured.
type phaseResult struct {
	elapsed                           time.Duration
	sent, received, confirmed, nacked int64
	cpu                               time.Duration
	latency                           Histogram
}

// Run runs cfg's scenario against its broker, prints progress lines and a
// summary to w, deletes what it declared, and returns the summary. The
// summary is printed, with its Error set, even when the run fails.
func Run(ctx context.Context, cfg Config, w io.Writer) (Summary, error) {
	r := &runner{cfg: cfg, out: printer{w: w, json: cfg.JSON}}
	r.plan = makePlan(cfg, namePrefix(cfg.Label))
	if cfg.ServerPID > 0 {
		r.proc = &ProcReader{Root: cfg.procRoot, PID: cfg.ServerPID}
		if _, err := r.proc.CPU(); err != nil {
			return Summary{}, err
		}
	}
	s, err := r.run(ctx)
	if err != nil {
		s.Error = err.Error()
	}
	if perr := r.out.summary(s); perr != nil && err == nil {
		err = perr
	}
	return s, err
}

func namePrefix(label string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "warren-bench-" + label + "-" + hex.EncodeToString(b[:])
}

func (r *runner) run(ctx context.Context) (s Summary, err error) {
	cfg := r.cfg
	s = Summary{Type: "summary", Scenario: cfg.Scenario, Label: cfg.Label, Target: cfg.Target,
		Queues: len(r.plan.topo.queues), Rate: cfg.Rate, Unit: r.plan.unit, LowerIsBetter: r.plan.lower}
	admin, err := dial(cfg.URI, "warren-bench-admin", cfg.ExpectServer)
	if err != nil {
		return s, err
	}
	s.Server = admin.server()
	defer admin.shut()
	defer func() {
		// A fresh connection: the admin one may have been closed by an error.
		if c, cerr := dial(cfg.URI, "warren-bench-cleanup", cfg.ExpectServer); cerr == nil {
			err = errors.Join(err, r.plan.topo.remove(c))
			c.shut()
		}
	}()
	if err := r.plan.topo.declare(admin, !cfg.Transient); err != nil {
		return s, err
	}
	if r.plan.fill > 0 {
		fill, err := r.runPhase(ctx, phase{name: "fill", publish: true, window: cfg.Confirm,
			count: r.plan.fill, limit: cfg.FillTime})
		s.Filled = fill.confirmed
		s.FillRate = round(rate(fill.confirmed, fill.elapsed), 1)
		if err != nil {
			return s, err
		}
	}
	ph := phase{name: "run", publish: r.plan.publish, consume: r.plan.consume, count: cfg.Count,
		limit: cfg.Time, rate: cfg.Rate}
	if r.plan.confirm {
		ph.window = cfg.Confirm
	}
	if r.plan.consume && r.plan.publish && cfg.Rate == 0 {
		ph.maxLag = cfg.MaxLag
	}
	if !r.plan.publish {
		ph.drain = s.Filled
	}
	res, err := r.runPhase(ctx, ph)
	r.fill(&s, res)
	return s, err
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// fill completes s from the measured phase.
func (r *runner) fill(s *Summary, res phaseResult) {
	s.Duration = round(res.elapsed.Seconds(), 3)
	s.Sent, s.Received, s.Confirmed, s.Nacked = res.sent, res.received, res.confirmed, res.nacked
	s.SendRate = round(rate(res.sent, res.elapsed), 1)
	s.ReceiveRate = round(rate(res.received, res.elapsed), 1)
	p := res.latency.Percentiles()
	s.P50, s.P99, s.P999 = round(ms(p.P50), 3), round(ms(p.P99), 3), round(ms(p.P999), 3)
	if r.proc != nil {
		msgs := res.sent
		if r.plan.consume {
			msgs = res.received
		}
		s.ServerCPU = round(res.cpu.Seconds(), 3)
		if msgs > 0 {
			s.CPUPerMillion = round(res.cpu.Seconds()*1e6/float64(msgs), 3)
		}
		s.RSSMaxMiB = round(float64(r.rssMax)/(1<<20), 1)
	}
	s.Value = r.plan.value(s)
}

// group runs goroutines; the first error cancels the others.
type group struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
	mu     sync.Mutex
	err    error
}

func (g *group) spawn(f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.mu.Lock()
			if g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
			g.cancel()
		}
	})
}

func (g *group) failed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// runPhase connects, loads the broker as ph says, reports progress each
// interval, and tears its connections down.
func (r *runner) runPhase(parent context.Context, ph phase) (phaseResult, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	st := &stats{}
	drained := make(chan struct{})
	var conns []*conn
	defer func() { shutAll(conns) }()
	starts, cs, err := r.consumers(ph, st, drained)
	conns = append(conns, cs...)
	if err != nil {
		return phaseResult{}, err
	}
	pubs, ps, err := r.publishers(ph, st)
	conns = append(conns, ps...)
	if err != nil {
		return phaseResult{}, err
	}
	g := &group{cancel: cancel}
	cpu0 := r.cpu()
	t0 := time.Now()
	// The clock starts once everyone is connected and subscribed.
	ctx, cancelRun := context.WithDeadline(ctx, t0.Add(ph.limit))
	defer cancelRun()
	for _, run := range starts {
		g.spawn(func() error { return run(ctx) })
	}
	var pubsDone sync.WaitGroup
	for i, p := range pubs {
		p.schedule = NewSchedule(t0.Add(time.Duration(i)*IntervalFor(ph.rate, len(pubs))/time.Duration(len(pubs))),
			IntervalFor(ph.rate, len(pubs)))
		pubsDone.Add(1)
		g.spawn(func() error { defer pubsDone.Done(); return p.run(ctx) })
	}
	allPublished := make(chan struct{})
	go func() { pubsDone.Wait(); close(allPublished) }()
	elapsed := r.report(ctx, ph, st, t0, drained, allPublished)
	res := phaseResult{elapsed: elapsed, cpu: r.cpu() - cpu0}
	res.sent, res.received = st.sent.Load(), st.received.Load()
	res.confirmed, res.nacked = st.confirmed.Load(), st.nacked.Load()
	res.latency = st.total()
	cancel()
	shutAll(conns)
	conns = nil
	g.wg.Wait()
	<-allPublished
	if err := g.failed(); err != nil {
		return res, err
	}
	if err := parent.Err(); err != nil {
		return res, fmt.Errorf("bench: %s phase interrupted: %w", ph.name, err)
	}
	return res, nil
}

func shutAll(conns []*conn) {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(c.shut)
	}
	wg.Wait()
}

func (r *runner) cpu() time.Duration {
	if r.proc == nil {
		return 0
	}
	d, _ := r.proc.CPU() // a vanished server shows in the run's errors
	return d
}

func (r *runner) sampleRSS() float64 {
	if r.proc == nil {
		return 0
	}
	rss, err := r.proc.RSS()
	if err != nil {
		return 0
	}
	r.rssMax = max(r.rssMax, rss)
	return round(float64(rss)/(1<<20), 1)
}

func (r *runner) mode() uint8 {
	if r.cfg.Transient {
		return amqp.Transient
	}
	return amqp.Persistent
}
