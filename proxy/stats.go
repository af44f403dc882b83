package proxy

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/warren-mq/warren/meta"
)

// Message statistics for the admin API (meta.Sessions.MessageStats).
//
// The hot path only adds to atomic counters that already exist: a
// channel's own (chanStats), a connection's byte counts (connStats), and
// the counters of the queues and exchanges a message passes (objStats),
// which every channel shares and which topology hands out when a queue or
// exchange appears. Nothing is locked or allocated per message; the sums
// are made when the API asks.
//
// A channel's counts go to its vhost's totals when it is released, and a
// connection's byte counts when it is torn down, so vhost totals keep
// what closed channels did (queue and exchange counters never belonged to
// a channel). statsBook.mu makes that hand-over atomic for a snapshot: a
// snapshot counts a channel either live or in its vhost's totals, never
// both.
//
// Lock order: Server.mu, topology.mu, statsBook.mu, conn.mu (Start loads
// the topology under Server.mu; MessageStats lists the connections before
// it takes statsBook.mu).

// cacheLinePad keeps counters written by different goroutines apart.
type cacheLinePad [64]byte

// chanStats are a channel's counters. The reader counts publishes, gets
// and acks; the writer deliveries; the reader or the store's flusher
// confirms.
type chanStats struct {
	publish, returnUnroutable, dropUnroutable atomic.Uint64
	get, getNoAck, getEmpty, ack              atomic.Uint64
	_                                         cacheLinePad
	deliver, deliverNoAck, redeliver          atomic.Uint64
	_                                         cacheLinePad
	confirm                                   atomic.Uint64
}

func (s *chanStats) load(m *meta.MessageStats) {
	m.Publish += s.publish.Load()
	m.Confirm += s.confirm.Load()
	m.ReturnUnroutable += s.returnUnroutable.Load()
	m.DropUnroutable += s.dropUnroutable.Load()
	m.Get += s.get.Load()
	m.GetNoAck += s.getNoAck.Load()
	m.GetEmpty += s.getEmpty.Load()
	m.Ack += s.ack.Load()
	m.Deliver += s.deliver.Load()
	m.DeliverNoAck += s.deliverNoAck.Load()
	m.Redeliver += s.redeliver.Load()
}

// connStats are a connection's socket counters: the reader counts what
// it reads, the writer what it writes.
type connStats struct {
	recvOct, recvCnt atomic.Uint64
	_                cacheLinePad
	sendOct, sendCnt atomic.Uint64
}

func (s *connStats) load(m *meta.MessageStats) {
	m.RecvOct += s.recvOct.Load()
	m.RecvCnt += s.recvCnt.Load()
	m.SendOct += s.sendOct.Load()
	m.SendCnt += s.sendCnt.Load()
}

// countingReader counts the bytes and reads of the connection's socket.
type countingReader struct {
	r io.Reader
	s *connStats
}

func (cr countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	if n > 0 {
		cr.s.recvOct.Add(uint64(n))
		cr.s.recvCnt.Add(1)
	}
	return n, err
}

// objStats are one queue's or exchange's counters, shared by every
// channel: publishers count on the first line, consumers on the second.
type objStats struct {
	vhost, name string
	queue       bool

	publish, publishIn, publishOut atomic.Uint64
	_                              cacheLinePad
	deliver, deliverNoAck          atomic.Uint64
	get, getNoAck, getEmpty        atomic.Uint64
	redeliver, ack                 atomic.Uint64
}

func (s *objStats) load() meta.MessageStats {
	return meta.MessageStats{
		Publish: s.publish.Load(), PublishIn: s.publishIn.Load(), PublishOut: s.publishOut.Load(),
		Deliver: s.deliver.Load(), DeliverNoAck: s.deliverNoAck.Load(),
		Get: s.get.Load(), GetNoAck: s.getNoAck.Load(), GetEmpty: s.getEmpty.Load(),
		Redeliver: s.redeliver.Load(), Ack: s.ack.Load(),
	}
}

// statsBook holds the queue and exchange counters by store id (ids are
// never reused, so a redeclared queue starts from zero, as in RabbitMQ)
// and the totals of closed channels and connections by vhost.
type statsBook struct {
	mu struct {
		sync.Mutex
		objects map[uint64]*objStats
		retired map[string]*meta.MessageStats
		// drops counts each vhost's deletions, so that a retirement
		// racing a deletion sees it (retire).
		drops map[string]uint64
	}
}

func newStatsBook() *statsBook {
	b := &statsBook{}
	b.mu.objects = map[uint64]*objStats{}
	b.mu.retired = map[string]*meta.MessageStats{}
	b.mu.drops = map[string]uint64{}
	return b
}

// object returns the counters of queue or exchange id, making them on
// first use. A nil book (a topology built alone in a test) hands out
// counters nobody reads.
func (b *statsBook) object(id uint64, vhost, name string, queue bool) *objStats {
	if b == nil {
		return &objStats{vhost: vhost, name: name, queue: queue}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.mu.objects[id]
	if o == nil {
		o = &objStats{vhost: vhost, name: name, queue: queue}
		b.mu.objects[id] = o
	}
	return o
}

// drop forgets a deleted queue's or exchange's counters.
func (b *statsBook) drop(id uint64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	delete(b.mu.objects, id)
	b.mu.Unlock()
}

// dropVhost forgets everything of a deleted vhost.
func (b *statsBook) dropVhost(vhost string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, o := range b.mu.objects {
		if o.vhost == vhost {
			delete(b.mu.objects, id)
		}
	}
	delete(b.mu.retired, vhost)
	b.mu.drops[vhost]++
}

// keepOnly forgets the counters of objects live does not list (after a
// full reload of the topology).
func (b *statsBook) keepOnly(live map[uint64]bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for id := range b.mu.objects {
		if !live[id] {
			delete(b.mu.objects, id)
		}
	}
}

// retiredLocked returns vhost's totals of closed channels and connections.
func (b *statsBook) retiredLocked(vhost string) *meta.MessageStats {
	r := b.mu.retired[vhost]
	if r == nil {
		r = &meta.MessageStats{}
		b.mu.retired[vhost] = r
	}
	return r
}

// retireChannel moves a released channel's counts to its vhost's totals
// (or drops them when the vhost is gone: a vhost made again under its
// name starts from zero).
func (s *Server) retireChannel(ch *channel) {
	s.retire(ch.c.vhost, &ch.statsRetired, ch.stats.load)
}

// retireConn moves a closed connection's byte counts to its vhost's
// totals.
func (s *Server) retireConn(c *conn) {
	s.retire(c.vhost, &c.statsRetired, c.stats.load)
}

// retire adds counts (once: *done) to vhost's totals if the vhost still
// exists. Whether it exists is asked of the topology outside statsBook.mu
// (topology.mu comes first in the lock order); a deletion between the
// question and the lock is seen through the vhost's drop count.
func (s *Server) retire(vhost string, done *bool, load func(*meta.MessageStats)) {
	b := s.stats
	b.mu.Lock()
	drops := b.mu.drops[vhost]
	b.mu.Unlock()
	_, live := s.topo.namespace(vhost)
	b.mu.Lock()
	defer b.mu.Unlock()
	if *done || vhost == "" {
		return
	}
	*done = true
	if live && b.mu.drops[vhost] == drops {
		load(b.retiredLocked(vhost))
	}
}

// MessageStats returns every counter for the admin API.
func (s *Server) MessageStats() meta.StatsSnapshot {
	out := meta.StatsSnapshot{
		Channels:    map[string]meta.MessageStats{},
		Connections: map[string]meta.MessageStats{},
		Queues:      map[meta.ObjectName]meta.MessageStats{},
		Exchanges:   map[meta.ObjectName]meta.MessageStats{},
		Vhosts:      map[string]meta.MessageStats{},
	}
	conns := s.connections() // before statsBook.mu: Start holds Server.mu while topology hands out counters
	b := s.stats
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, o := range b.mu.objects {
		if o.queue {
			out.Queues[meta.ObjectName{Vhost: o.vhost, Name: o.name}] = o.load()
		} else {
			out.Exchanges[meta.ObjectName{Vhost: o.vhost, Name: o.name}] = o.load()
		}
	}
	for v, r := range b.mu.retired {
		out.Vhosts[v] = *r
	}
	for _, c := range conns {
		s.connMessageStats(c, &out)
	}
	return out
}

// connMessageStats adds a live connection and its channels to out; called
// under statsBook.mu.
func (s *Server) connMessageStats(c *conn, out *meta.StatsSnapshot) {
	if c.statsRetired || !c.opened.Load() {
		return
	}
	vh := out.Vhosts[c.vhost]
	var cs meta.MessageStats
	c.stats.load(&cs)
	out.Connections[c.name] = cs
	vh.RecvOct += cs.RecvOct
	vh.SendOct += cs.SendOct
	vh.RecvCnt += cs.RecvCnt
	vh.SendCnt += cs.SendCnt
	c.mu.Lock()
	for _, ch := range c.mu.chans {
		if ch.statsRetired {
			continue
		}
		var m meta.MessageStats
		ch.stats.load(&m)
		out.Channels[meta.ChannelName(c.name, ch.num)] = m
		ch.stats.load(&vh)
	}
	c.mu.Unlock()
	out.Vhosts[c.vhost] = vh
}

// queueCounter counts each queue a publish reaches once, as RabbitMQ
// routes to a set of queues, while the routing walk may reach a queue by
// several bindings. It remembers the queues it counted only when that can
// happen: the queue has more than one binding into it, or the walk entered
// an exchange that several bindings lead to (or went back to the root).
// The first few fit in an array, so common routes allocate nothing.
type queueCounter struct {
	root    *exchangeState
	multi   bool // the walk may visit an exchange twice
	counted int  // distinct queues counted
	seen    [8]*queueState
	nseen   int
	more    []*queueState
}

// begin notes the exchange a walk starts from: one that bindings lead to
// may be reached again through a cycle.
func (qc *queueCounter) begin(xs *exchangeState) {
	qc.root = xs
	qc.multi = qc.multi || len(xs.in) > 0
}

// enter notes that the walk follows an exchange-to-exchange binding to xs.
func (qc *queueCounter) enter(xs *exchangeState) {
	if xs == qc.root || len(xs.in) > 1 {
		qc.multi = true
	}
}

// once reports whether qs is counted for the first time.
func (qc *queueCounter) once(qs *queueState) bool {
	if !qc.multi && len(qs.in) <= 1 {
		return true
	}
	for _, s := range qc.seen[:qc.nseen] {
		if s == qs {
			return false
		}
	}
	for _, s := range qc.more {
		if s == qs {
			return false
		}
	}
	if qc.nseen < len(qc.seen) {
		qc.seen[qc.nseen] = qs
		qc.nseen++
	} else {
		qc.more = append(qc.more, qs)
	}
	return true
}

// countQueue counts a publish into qs when rt counts, once per queue.
func (rt *route) countQueue(qs *queueState) {
	if !rt.count || !rt.qc.once(qs) {
		return
	}
	rt.qc.counted++
	if qs.stats != nil {
		qs.stats.publish.Add(1)
	}
}

// countPublish counts a routed publish on the channel and its exchange:
// publish_in once, publish_out once per queue reached.
func countPublish(s *chanStats, rt *route) {
	s.publish.Add(1)
	if x := rt.xstats; x != nil {
		x.publishIn.Add(1)
		if n := rt.qc.counted; n > 0 {
			x.publishOut.Add(uint64(n))
		}
	}
}

// countDeliveries counts n basic.deliver of a consumer, redelivered of
// them with the redelivered flag.
func countDeliveries(s *chanStats, q *objStats, noAck bool, n, redelivered int) {
	if n == 0 {
		return
	}
	if noAck {
		s.deliverNoAck.Add(uint64(n))
	} else {
		s.deliver.Add(uint64(n))
	}
	if redelivered > 0 {
		s.redeliver.Add(uint64(redelivered))
	}
	if q == nil {
		return
	}
	if noAck {
		q.deliverNoAck.Add(uint64(n))
	} else {
		q.deliver.Add(uint64(n))
	}
	if redelivered > 0 {
		q.redeliver.Add(uint64(redelivered))
	}
}

// countGet counts a basic.get-ok.
func countGet(s *chanStats, q *objStats, noAck, redelivered bool) {
	if noAck {
		s.getNoAck.Add(1)
	} else {
		s.get.Add(1)
	}
	if redelivered {
		s.redeliver.Add(1)
	}
	if q == nil {
		return
	}
	if noAck {
		q.getNoAck.Add(1)
	} else {
		q.get.Add(1)
	}
	if redelivered {
		q.redeliver.Add(1)
	}
}

// countGetEmpty counts a basic.get-empty.
func countGetEmpty(s *chanStats, q *objStats) {
	s.getEmpty.Add(1)
	if q != nil {
		q.getEmpty.Add(1)
	}
}

// countAcks counts acknowledged deliveries on the channel and their
// queues (one add per run of one queue's deliveries).
func countAcks(s *chanStats, taken []unacked) {
	if len(taken) == 0 {
		return
	}
	s.ack.Add(uint64(len(taken)))
	for i := 0; i < len(taken); {
		q, j := taken[i].qs, i+1
		for j < len(taken) && taken[j].qs == q {
			j++
		}
		if q != nil {
			q.ack.Add(uint64(j - i))
		}
		i = j
	}
}

// queueStats returns the counters of queue name of vhost if it is still
// queue id, else nil.
func (t *topology) queueStats(vhost, name string, id uint64) *objStats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if vs := t.mu.vhosts[vhost]; vs != nil {
		if qs := vs.queues[name]; qs != nil && qs.q.ID == id {
			return qs.stats
		}
	}
	return nil
}

// keepLiveStatsLocked drops the counters of queues and exchanges that a
// reload of the topology no longer has.
func (t *topology) keepLiveStatsLocked() {
	if t.stats == nil {
		return
	}
	live := map[uint64]bool{}
	for _, vs := range t.mu.vhosts {
		for _, xs := range vs.exchanges {
			live[xs.x.ID] = true
		}
		for _, qs := range vs.queues {
			live[qs.q.ID] = true
		}
	}
	t.stats.keepOnly(live)
}
