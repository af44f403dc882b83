package store

// limits are a group's length limits (x-max-length, x-max-length-bytes)
// over its ready messages, checked on append without any scan: drop-head
// gives up the head (the requeued set first, then the cursor's next
// record) until the group is within them again; reject-publish adds the
// refused record to the group's skip set, so the cursor passes it by.
type limits struct {
	maxLen, maxBytes int64
	hasLen, hasBytes bool
	overflow         Overflow
	blocked          bool // OverflowRejectPublishSoft past a limit (softlimit.go)
}

func (l *limits) configure(cfg GroupConfig) {
	l.maxLen, l.hasLen = cfg.MaxLength, cfg.HasMaxLength
	l.maxBytes, l.hasBytes = cfg.MaxLengthBytes, cfg.HasMaxLengthBytes
	l.overflow = cfg.Overflow
}

func (l *limits) set() bool { return l.hasLen || l.hasBytes }

// over reports whether ready messages and bytes exceed the limits.
func (l *limits) over(ready, bytes uint64) bool {
	return (l.hasLen && ready > uint64(max(l.maxLen, 0))) || (l.hasBytes && bytes > uint64(max(l.maxBytes, 0)))
}

// refuses reports whether the group refuses a record of bodyLen bytes.
func (l *limits) refuses(g *group, bodyLen uint32) bool {
	if l.overflow == OverflowRejectPublishSoft {
		return l.refusesSoft(g)
	}
	return l.overflow != OverflowDropHead && l.set() && l.over(g.stats.Ready+1, g.stats.ReadyBytes+uint64(bodyLen))
}

// refuseLocked makes g skip the appended record e, and gives it up as a
// dead letter under reject-publish-dlx. A durable group writes the skip to
// the state log at once, like an ack, before Append returns and the
// publisher hears of the refusal: a checkpoint would come too late, and a
// crash in between made the refused record deliverable after the restart.
// The refused dead letter is then finished for the restart as well (at
// most once, like every dead letter).
func (n *namespace) refuseLocked(g *group, e *entry) error {
	g.skip.add(e.pos, e.pos+Position(e.size))
	in := &inflight{pos: e.pos, size: e.size, bodyLen: e.bodyLen, topic: e.topic, gen: 1,
		persistent: e.flags&FlagPersistent != 0}
	var err error
	if g.durable {
		err = n.saveDoneLocked(g, []*inflight{in})
	}
	if g.lim.overflow != OverflowRejectPublishDLX || !g.ttl.deadOn {
		return err
	}
	g.pending[e.pos] = in
	if in.persistent {
		g.owed++
		g.owedBytes += uint64(in.bodyLen)
	}
	g.stats.Ready++
	g.stats.ReadyBytes += uint64(in.bodyLen)
	_ = n.giveUpLocked(g, in, DeadMaxLen, true) // dead-letters: no I/O
	return err
}

// dropHeadLocked gives up messages from the head of g until it is within
// its limits.
func (n *namespace) dropHeadLocked(g *group) error {
	if g.lim.overflow == OverflowRejectPublishSoft {
		g.lim.blockSoft(g) // past a limit: refuse from now on, drop nothing
		return nil
	}
	for g.lim.over(g.stats.Ready, g.stats.ReadyBytes) {
		if g.prio != nil {
			if ok, err := n.prioHeadLocked(g); err != nil || !ok {
				return err
			}
		}
		if in, err := n.backHeadLocked(g); err != nil || in != nil { // tailreturn.go
			if err != nil {
				return err
			}
			g.popBack()
			if err := n.giveUpLocked(g, in, DeadMaxLen, true); err != nil {
				return err
			}
			continue
		}
		if len(g.requeue) > 0 {
			in := g.pending[g.requeue.pop()]
			if err := n.giveUpLocked(g, in, DeadMaxLen, true); err != nil {
				return err
			}
			continue
		}
		e, err := n.nextTakenLocked(g)
		if err != nil || e == nil {
			return err
		}
		if err := n.giveUpLocked(g, n.takeLocked(g, e).in, DeadMaxLen, true); err != nil {
			return err
		}
	}
	return nil
}
