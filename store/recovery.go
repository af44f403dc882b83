package store

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
)

// recState is the group state read back from the state log.
type recState struct {
	gen       uint64
	groups    map[GroupID]*recGroup
	dropped   map[TopicID]Position
	idxCkpt   Position
	idxCounts map[TopicID]int64
	// durable is the highest durable mark: the commit log was fdatasynced
	// up to it (a mark is written only after the fdatasync returned).
	durable Position
}

type recGroup struct {
	id       GroupID
	origin   Position
	bindings []Binding
	done     rangeSet
	mark     Position
	// The last checkpoint's count of persistent messages owed below
	// ckTail, kept up to date by later acks; recount when unknown.
	ckTail          Position
	owed, owedBytes uint64
	counted         bool
	prio            *recPrio // the last checkpoint's levels (priostate.go)

	returns map[Position]uint32 // return counts (deliverycount.go)
	// reentries of returns to the tail, numbered by seq in the order
	// read (tailreturn.go).
	reentries map[Position]reentry
	seq       uint64
}

func newRecState() *recState {
	return &recState{groups: map[GroupID]*recGroup{}, dropped: map[TopicID]Position{}, idxCounts: map[TopicID]int64{}}
}

// apply replays one state record.
func (rs *recState) apply(typ byte, r *reader) error {
	switch typ {
	case stGroup:
		return rs.applyGroup(r)
	case stAcks:
		g := rs.groups[GroupID(r.u64())]
		n := r.count(12)
		for range n {
			p, v := Position(r.u64()), r.u32()
			if g != nil {
				g.ack(p, v>>1, v&1 != 0)
			}
		}
	case stCheckpoint, stPrioCheckpoint:
		rs.applyCheckpoint(typ, r)
	case stReturns:
		rs.applyReturns(r)
	case stReturnsAt:
		rs.applyReturnsAt(r)
	case stMark:
		if g := rs.groups[GroupID(r.u64())]; g != nil {
			g.mark = max(g.mark, Position(r.u64()))
		}
	case stDropGroup:
		delete(rs.groups, GroupID(r.u64()))
	case stDurable:
		rs.durable = max(rs.durable, Position(r.u64()))
	case stDropTopic:
		t := TopicID(r.u64())
		rs.dropped[t] = Position(r.u64())
		for _, g := range rs.groups {
			g.counted = false // its bindings on t are gone
		}
	case stIndex:
		rs.idxCkpt = Position(r.u64())
		n := r.count(16)
		rs.idxCounts = make(map[TopicID]int64, n)
		for range n {
			t := TopicID(r.u64())
			rs.idxCounts[t] = int64(r.u64())
		}
	}
	if r.bad {
		return fmt.Errorf("%w: state record of type %d is truncated", ErrCorrupt, typ)
	}
	return nil
}

func (rs *recState) applyGroup(r *reader) error {
	id := GroupID(r.u64())
	g := rs.groups[id]
	if g == nil {
		g = &recGroup{id: id}
		rs.groups[id] = g
	}
	g.origin = Position(r.u64())
	g.counted = false
	n := r.count(32)
	g.bindings = g.bindings[:0]
	for range n {
		var b Binding
		b.Key = string(r.bytes())
		b.Topic = TopicID(r.u64())
		b.From = r.u64()
		b.Until = r.u64()
		b.Spec = r.bytes()
		g.bindings = append(g.bindings, b)
	}
	if r.bad {
		return fmt.Errorf("%w: group record of %d", ErrCorrupt, id)
	}
	return nil
}

// ack marks p finished; a persistent message below the checkpoint is no
// longer owed.
func (g *recGroup) ack(p Position, bodyLen uint32, persistent bool) {
	if g.done.has(p) {
		return
	}
	g.done.add(p, p+1)
	g.prio.noteAck(p, bodyLen, persistent)
	if g.counted && persistent && p < g.ckTail {
		g.owed--
		g.owedBytes -= uint64(bodyLen)
	}
}

// applyCheckpoint replaces the group's done set: [origin, cursor) minus
// the pending positions, plus the skip spans.
func (rs *recState) applyCheckpoint(typ byte, r *reader) {
	g := rs.groups[GroupID(r.u64())]
	tail, owed, owedBytes := Position(r.u64()), r.u64(), r.u64()
	cursor := Position(r.u64())
	mark := Position(r.u64())
	n := r.count(8)
	pending := make([]Position, 0, n)
	for range n {
		pending = append(pending, Position(r.u64()))
	}
	k := r.count(16)
	var skip []span
	for range k {
		skip = append(skip, span{Position(r.u64()), Position(r.u64())})
	}
	var rp *recPrio
	if typ == stPrioCheckpoint {
		rp = readRecPrio(r)
	}
	if g == nil || r.bad {
		return
	}
	slices.Sort(pending)
	if rp != nil {
		rp.pending, rp.ckTail = pending, tail
	}
	g.prio = rp
	var done rangeSet
	lo := g.origin
	for _, p := range pending {
		if p >= lo && p < cursor {
			done.add(lo, p)
			lo = p + 1
		}
	}
	done.add(lo, cursor)
	for _, s := range skip {
		done.add(s.lo, s.hi)
	}
	g.done = done
	g.mark = max(g.mark, mark)
	g.ckTail, g.owed, g.owedBytes, g.counted = tail, owed, owedBytes, true
}

// loadState reads the newest complete state generation.
func loadState(fsys FS, dir string) (*recState, error) {
	gens, err := listStateGens(fsys, dir)
	if err != nil {
		return nil, err
	}
	for i := len(gens) - 1; i >= 0; i-- {
		rs := newRecState()
		rs.gen = gens[i]
		path := filepath.Join(dir, stateName(gens[i]))
		_, complete, err := readStateGen(fsys, path, rs.apply)
		if err != nil {
			return nil, fmt.Errorf("store: state %s: %w", path, err)
		}
		if complete {
			return rs, nil
		}
		// A generation whose snapshot never finished: the previous one
		// is still whole.
		if err := fsys.Remove(path); err != nil {
			return nil, err
		}
	}
	return newRecState(), nil
}

// loadSeed reads the namespace's hash seed, creating it on first open.
func loadSeed(fsys FS, dir string) (uint64, error) {
	path := filepath.Join(dir, "seed")
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err == nil {
		defer f.Close()
		var b [12]byte
		if _, err := f.ReadAt(b[:], 0); err != nil {
			return 0, fmt.Errorf("store: read %s: %w", path, err)
		}
		if crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]) {
			return 0, fmt.Errorf("%w: %s", ErrCorrupt, path)
		}
		return binary.LittleEndian.Uint64(b[:8]), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	var b [12]byte
	if _, err := rand.Read(b[:8]); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	tmp := path + ".tmp"
	f, err = fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	_, err = f.WriteAt(b[:], 0)
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = fsys.Rename(tmp, path)
	}
	if err == nil {
		err = fsys.SyncDir(dir)
	}
	return binary.LittleEndian.Uint64(b[:8]), err
}
