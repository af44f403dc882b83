package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// State-log record types; see doc.go.
const (
	stGroup      byte = 1 // durable group config
	stAcks       byte = 2 // positions finished (ack or nack without requeue)
	stCheckpoint byte = 3 // cursor, pending and skip spans: replaces the done set
	stMark       byte = 4 // delivered-up-to mark
	stDropGroup  byte = 5
	stDropTopic  byte = 6
	stIndex      byte = 7 // index files complete below a position
	stSnapEnd    byte = 8 // the snapshot at the head of a generation is complete
	// 9 is stPrioCheckpoint, a priority group's checkpoint (priostate.go).
	stDurable byte = 10 // the commit log was fdatasynced up to a position
	// 11 is stReturns, return counts (deliverycount.go).
	// 12 is stReturnsAt, return counts with re-entries (tailreturn.go).
)

// maxStateGen is the size past which the state log is rewritten as a new
// generation (a snapshot of every durable group).
const maxStateGen = 8 << 20

// stateLog is the append-only group-state log of a namespace, written in
// generations state/%020d.state; the previous generation is kept.
type stateLog struct {
	dir    string
	gen    uint64
	f      File
	size   int64
	synced int64
	buf    []byte
	// dirty: records written since the last fsync need one (durable
	// marks alone do not). fresh: a generation started by a compaction
	// whose file, directory entry and pruning of older generations wait
	// for the flusher.
	dirty, fresh bool
}

func stateName(gen uint64) string { return fmt.Sprintf("%020d.state", gen) }

// frame starts a record of type typ in the buffer and returns its start.
func (s *stateLog) frame(typ byte) int {
	start := len(s.buf)
	s.buf = append(s.buf, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	return start
}

// seal fills in the length and checksum of the record started at start.
func (s *stateLog) seal(start int) {
	body := s.buf[start+8:]
	binary.LittleEndian.PutUint32(s.buf[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(s.buf[start+4:], crc32.Checksum(body, castagnoli))
}

func (s *stateLog) writeLocked(l *fileLog) error {
	if len(s.buf) == 0 || s.f == nil || l.mu.err != nil {
		return l.mu.err
	}
	if _, err := s.f.WriteAt(s.buf, s.size); err != nil {
		return l.stopLocked(err)
	}
	s.size += int64(len(s.buf))
	s.buf = s.buf[:0]
	return nil
}

func u64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }
func u32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

func (s *stateLog) putGroup(g *group) {
	st := s.frame(stGroup)
	b := u64(s.buf, uint64(g.id))
	b = u64(b, uint64(g.origin))
	b = u32(b, uint32(len(g.bindings)))
	for _, bd := range g.bindings {
		b = u32(b, uint32(len(bd.Key)))
		b = append(b, bd.Key...)
		b = u64(b, uint64(bd.Topic))
		b = u64(b, bd.From)
		b = u64(b, bd.Until)
		b = u32(b, uint32(len(bd.Spec)))
		b = append(b, bd.Spec...)
	}
	s.buf = b
	s.seal(st)
}

func (s *stateLog) putAcks(id GroupID, done []*inflight) {
	st := s.frame(stAcks)
	b := u64(s.buf, uint64(id))
	b = u32(b, uint32(len(done)))
	for _, in := range done {
		b = u64(b, uint64(in.pos))
		v := in.bodyLen << 1
		if in.persistent {
			v |= 1
		}
		b = u32(b, v)
	}
	s.buf = b
	s.seal(st)
}

// putCheckpoint records that every position of the group in [origin,
// cursor) is finished except the pending ones, plus the skip spans ahead,
// and how many persistent messages the group owes below tail; a priority
// group's adds its levels (priostate.go).
func (s *stateLog) putCheckpoint(g *group, tail Position) {
	typ, cursor := stCheckpoint, g.cursor
	if g.prio != nil {
		typ, cursor = stPrioCheckpoint, g.prio.low(tail)
	}
	st := s.frame(typ)
	b := u64(s.buf, uint64(g.id))
	b = u64(b, uint64(tail))
	b = u64(b, g.owed)
	b = u64(b, g.owedBytes)
	b = u64(b, uint64(cursor))
	b = u64(b, uint64(g.markSave))
	b = u32(b, uint32(len(g.pending)))
	for p := range g.pending {
		b = u64(b, uint64(p))
	}
	b = u32(b, uint32(len(g.skip.spans)))
	for _, sp := range g.skip.spans {
		b = u64(b, uint64(sp.lo))
		b = u64(b, uint64(sp.hi))
	}
	if g.prio != nil {
		b = g.prio.appendPrio(b, cursor)
	}
	s.buf = b
	s.seal(st)
}

func (s *stateLog) putPair(typ byte, a, b uint64) {
	st := s.frame(typ)
	s.buf = u64(u64(s.buf, a), b)
	s.seal(st)
}

// reader decodes a record payload, remembering the first error.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) u32() uint32 {
	if len(r.b) < 4 {
		r.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.u32()
	if r.bad || uint64(n) > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// count reads a count of items of size each, checked against the bytes left.
func (r *reader) count(size int) int {
	n := r.u32()
	if r.bad || uint64(n)*uint64(size) > uint64(len(r.b)) {
		r.bad = true
		return 0
	}
	return int(n)
}

// listStateGens returns the generations in dir, oldest first.
func listStateGens(fsys FS, dir string) ([]uint64, error) {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, n := range names {
		base, ok := strings.CutSuffix(n, ".state")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(base, 10, 64)
		if err == nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// readStateGen reads a generation's records. A torn tail (a bad last
// record) ends the list; complete says whether the snapshot at its head
// was finished.
func readStateGen(fsys FS, path string, fn func(typ byte, r *reader) error) (valid int64, complete bool, err error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return 0, false, err
	}
	data := make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil {
		return 0, false, err
	}
	off := int64(0)
	for int64(len(data))-off >= 9 {
		n := int64(binary.LittleEndian.Uint32(data[off:]))
		if n < 1 || off+8+n > int64(len(data)) {
			break
		}
		body := data[off+8 : off+8+n]
		if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[off+4:]) {
			break
		}
		if body[0] == stSnapEnd {
			complete = true
		} else if err := fn(body[0], &reader{b: body[1:]}); err != nil {
			return off, complete, err
		}
		off += 8 + n
	}
	return off, complete, nil
}

// createStateGen writes a new generation holding snap (a snapshot ending
// with stSnapEnd). Unless sync, making it durable is left to the caller
// (syncStateGen): until then a power loss leaves the previous generation
// in force.
func createStateGen(fsys FS, dir string, gen uint64, snap []byte, sync bool) (File, error) {
	path := filepath.Join(dir, stateName(gen))
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteAt(snap, 0); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	if sync {
		if err := syncStateGen(fsys, dir, gen, f); err != nil {
			return nil, errors.Join(err, f.Close())
		}
	}
	return f, nil
}

// syncStateGen makes generation gen durable with its directory entry, and
// then removes the generations older than the one before it.
func syncStateGen(fsys FS, dir string, gen uint64, f File) error {
	if err := f.Sync(); err != nil {
		return err
	}
	if err := fsys.SyncDir(dir); err != nil {
		return err
	}
	gens, err := listStateGens(fsys, dir)
	if err != nil {
		return err
	}
	for _, g := range gens {
		if g+1 < gen {
			if err := fsys.Remove(filepath.Join(dir, stateName(g))); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}
