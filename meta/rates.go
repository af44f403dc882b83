package meta

import (
	"slices"
	"sync"
	"time"
)

// Message statistics and their rates, as RabbitMQ's management plugin
// shows them with rates_mode "basic".
//
// RabbitMQ samples every collect_statistics_interval (5 s) and reports,
// for each counter, the count at the last sample and
//
//	"x": 42, "x_details": {"rate": (count(last) - count(previous)) / seconds between them}
//
// Warren samples on demand: a request takes a new sample from
// Sessions.MessageStats unless the newest one is under a second old (so
// counts lag at most a second), and reports the rate between that sample
// and the newest one at least the interval (5 s) older, or the oldest it
// kept: a client polling every few seconds (the management UI) sees rates
// over about 5 s as from RabbitMQ, one polling less often the mean since
// its previous poll. No goroutine runs for it, and nothing is counted in
// meta: the proxies keep the counters.
//
// Counters come in RabbitMQ's groups, and a group is shown only when one
// of its counters is not zero (a queue nobody published to has no
// "publish"; an object with no group at all has no message_stats):
//
//	channel, vhost, overview: publish confirm return_unroutable drop_unroutable
//	channel, vhost, overview, queue: deliver deliver_no_ack get get_no_ack
//	                                 get_empty redeliver ack deliver_get
//	queue: publish
//	exchange: publish_in; exchange: publish_out
//	connection (always), vhost: recv_oct send_oct

// statsInterval is RabbitMQ's default collect_statistics_interval: the
// shortest window a rate is taken over once there are samples that old.
// statsSpacing is the least time between two samples.
const (
	statsInterval = 5 * time.Second
	statsSpacing  = time.Second
)

// sampler keeps the samples of the sessions' counters that the next rate
// may need: the newest, and back to the newest one at least interval
// older than it.
type sampler struct {
	interval, spacing time.Duration
	now               func() time.Time
	mu                struct {
		sync.Mutex
		samples []*statsSample // oldest first
	}
}

type statsSample struct {
	at    time.Time
	stats StatsSnapshot
	// depths are the queue and vhost depths recorded in this sample as
	// requests render them (depthrates.go); guarded by sampler.mu.
	depths depths
}

func newSampler(interval, spacing time.Duration, now func() time.Time) *sampler {
	return &sampler{interval: interval, spacing: spacing, now: now}
}

// statsView is what one request renders: the newest sample and the rates
// since the base sample before it.
type statsView struct {
	last, prev *StatsSnapshot
	seconds    float64 // between prev and last; 0 when there is no prev
	// sampler and samples (the base first, last last) are for the depth
	// rates, which record depths into the samples (depthrates.go).
	sampler *sampler
	samples []*statsSample
}

// view returns the current view, sampling first unless the newest sample
// is younger than the spacing.
func (s *sampler) view(sessions Sessions) statsView {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	n := len(s.mu.samples)
	if n == 0 || now.Sub(s.mu.samples[n-1].at) >= s.spacing {
		s.mu.samples = append(s.mu.samples, &statsSample{at: now, stats: sessions.MessageStats()})
		n++
	}
	last := s.mu.samples[n-1]
	base := 0 // the newest sample at least interval older than last
	for i := n - 2; i >= 0; i-- {
		if last.at.Sub(s.mu.samples[i].at) >= s.interval {
			base = i
			break
		}
	}
	if base > 0 {
		s.mu.samples = append(s.mu.samples[:0], s.mu.samples[base:]...)
		clear(s.mu.samples[n-base : n])
		n -= base
	}
	v := statsView{last: &last.stats, sampler: s, samples: slices.Clone(s.mu.samples)}
	if n > 1 {
		v.prev = &s.mu.samples[0].stats
		v.seconds = last.at.Sub(s.mu.samples[0].at).Seconds()
	}
	return v
}

// statsPair is one object's counts now and at the previous sample.
type statsPair struct {
	now, prev MessageStats
	seconds   float64
}

func pairOf[K comparable](v statsView, pick func(*StatsSnapshot) map[K]MessageStats, key K) statsPair {
	p := statsPair{now: pick(v.last)[key], seconds: v.seconds}
	if v.prev != nil {
		// An object missing from the previous sample is new: it started
		// from zero within the interval.
		p.prev = pick(v.prev)[key]
	}
	return p
}

func (v statsView) channel(name string) statsPair {
	return pairOf(v, func(s *StatsSnapshot) map[string]MessageStats { return s.Channels }, name)
}

func (v statsView) connection(name string) statsPair {
	return pairOf(v, func(s *StatsSnapshot) map[string]MessageStats { return s.Connections }, name)
}

func (v statsView) queue(vhost, name string) statsPair {
	return pairOf(v, func(s *StatsSnapshot) map[ObjectName]MessageStats { return s.Queues }, ObjectName{vhost, name})
}

func (v statsView) exchange(vhost, name string) statsPair {
	return pairOf(v, func(s *StatsSnapshot) map[ObjectName]MessageStats { return s.Exchanges }, ObjectName{vhost, name})
}

func (v statsView) vhost(name string) statsPair {
	return pairOf(v, func(s *StatsSnapshot) map[string]MessageStats { return s.Vhosts }, name)
}

// add sums o into p.
func (p *statsPair) add(o statsPair) {
	p.now.add(&o.now)
	p.prev.add(&o.prev)
	p.seconds = max(p.seconds, o.seconds)
}

// add sums o into m.
func (m *MessageStats) add(o *MessageStats) {
	m.Publish += o.Publish
	m.PublishIn += o.PublishIn
	m.PublishOut += o.PublishOut
	m.Confirm += o.Confirm
	m.ReturnUnroutable += o.ReturnUnroutable
	m.DropUnroutable += o.DropUnroutable
	m.Deliver += o.Deliver
	m.DeliverNoAck += o.DeliverNoAck
	m.Get += o.Get
	m.GetNoAck += o.GetNoAck
	m.GetEmpty += o.GetEmpty
	m.Redeliver += o.Redeliver
	m.Ack += o.Ack
	m.RecvOct += o.RecvOct
	m.SendOct += o.SendOct
	m.RecvCnt += o.RecvCnt
	m.SendCnt += o.SendCnt
}

// statKey is one counter as the API names it.
type statKey struct {
	name string
	get  func(*MessageStats) uint64
}

func deliverGet(m *MessageStats) uint64 { return m.Deliver + m.DeliverNoAck + m.Get + m.GetNoAck }

// RabbitMQ's counter groups (rabbit_mgmt_metrics: fine stats, deliver
// stats, queue and exchange publish stats, connection octets).
var (
	groupPublish = []statKey{
		{"publish", func(m *MessageStats) uint64 { return m.Publish }},
		{"confirm", func(m *MessageStats) uint64 { return m.Confirm }},
		{"return_unroutable", func(m *MessageStats) uint64 { return m.ReturnUnroutable }},
		{"drop_unroutable", func(m *MessageStats) uint64 { return m.DropUnroutable }},
	}
	groupDeliver = []statKey{
		{"get", func(m *MessageStats) uint64 { return m.Get }},
		{"get_no_ack", func(m *MessageStats) uint64 { return m.GetNoAck }},
		{"deliver", func(m *MessageStats) uint64 { return m.Deliver }},
		{"deliver_no_ack", func(m *MessageStats) uint64 { return m.DeliverNoAck }},
		{"redeliver", func(m *MessageStats) uint64 { return m.Redeliver }},
		{"ack", func(m *MessageStats) uint64 { return m.Ack }},
		{"deliver_get", deliverGet},
		{"get_empty", func(m *MessageStats) uint64 { return m.GetEmpty }},
	}
	groupQueuePublish = []statKey{{"publish", func(m *MessageStats) uint64 { return m.Publish }}}
	groupPublishIn    = []statKey{{"publish_in", func(m *MessageStats) uint64 { return m.PublishIn }}}
	groupPublishOut   = []statKey{{"publish_out", func(m *MessageStats) uint64 { return m.PublishOut }}}
	groupOctets       = []statKey{
		{"recv_oct", func(m *MessageStats) uint64 { return m.RecvOct }},
		{"send_oct", func(m *MessageStats) uint64 { return m.SendOct }},
	}
)

// Which groups each object kind shows in message_stats.
var (
	channelGroups  = [][]statKey{groupPublish, groupDeliver}
	queueGroups    = [][]statKey{groupQueuePublish, groupDeliver}
	exchangeGroups = [][]statKey{groupPublishIn, groupPublishOut}
)

// rateOf is a counter's rate: its change over the last sample interval
// per second (0 without two samples, never negative).
func (p *statsPair) rateOf(k statKey) float64 {
	now, prev := k.get(&p.now), k.get(&p.prev)
	if p.seconds <= 0 || now <= prev {
		return 0
	}
	return float64(now-prev) / p.seconds
}

// putGroups adds to out each group that has a counter above zero, with
// the rates beside the counts; it reports whether it added any.
func (p *statsPair) putGroups(out map[string]any, groups [][]statKey) bool {
	added := false
	for _, g := range groups {
		if !p.anyOf(g) {
			continue
		}
		for _, k := range g {
			out[k.name] = k.get(&p.now)
			out[k.name+"_details"] = rateJSON(p.rateOf(k))
		}
		added = true
	}
	return added
}

func (p *statsPair) anyOf(g []statKey) bool {
	for _, k := range g {
		if k.get(&p.now) != 0 {
			return true
		}
	}
	return false
}

// rateJSON is a "<counter>_details" object. It is a map[string]any so that
// sort and columns (dotted paths such as message_stats.publish_details.rate)
// reach into it.
func rateJSON(r float64) map[string]any { return map[string]any{"rate": r} }

// addMessageStats sets out["message_stats"] when any of groups has a
// count, as RabbitMQ leaves the key out of objects without traffic.
func addMessageStats(out map[string]any, p statsPair, groups [][]statKey) {
	ms := map[string]any{}
	if p.putGroups(ms, groups) {
		out["message_stats"] = ms
	}
}

// messageStatsJSON is the overview's message_stats: {} without traffic.
func messageStatsJSON(p statsPair) map[string]any {
	ms := map[string]any{}
	p.putGroups(ms, channelGroups)
	return ms
}

// addOctets sets recv_oct and send_oct (and their rates) beside
// message_stats: always for a connection, for a vhost once it had one.
func addOctets(out map[string]any, p statsPair, always bool) {
	if always || p.anyOf(groupOctets) {
		for _, k := range groupOctets {
			out[k.name] = k.get(&p.now)
			out[k.name+"_details"] = rateJSON(p.rateOf(k))
		}
	}
}

// stats returns the view a request renders (sampling when due).
func (a *api) stats() statsView { return a.rates.view(a.sessions) }

func (v statsView) addQueue(out map[string]any, q *Queue) {
	addMessageStats(out, v.queue(q.Vhost, q.Name), queueGroups)
}

func (v statsView) addExchange(out map[string]any, x *Exchange) {
	addMessageStats(out, v.exchange(x.Vhost, x.Name), exchangeGroups)
}

func (v statsView) addVhost(out map[string]any, name string) {
	p := v.vhost(name)
	addMessageStats(out, p, channelGroups)
	addOctets(out, p, false)
}

func (v statsView) addChannel(out map[string]any, c *ChannelInfo) {
	addMessageStats(out, v.channel(ChannelName(c.Connection, c.Number)), channelGroups)
}

func (v statsView) addConnection(out map[string]any, c *ConnectionInfo) {
	p := v.connection(c.Name)
	addOctets(out, p, true)
	out["recv_cnt"], out["send_cnt"], out["send_pend"] = p.now.RecvCnt, p.now.SendCnt, 0
}

// overview sums the vhosts keep returns true for.
func (v statsView) overview(vhosts []Vhost, keep func(string) bool) map[string]any {
	var sum statsPair
	for _, vh := range vhosts {
		if keep(vh.Name) {
			sum.add(v.vhost(vh.Name))
		}
	}
	return messageStatsJSON(sum)
}
