package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// segment is one file of a namespace's commit log, named by the position
// of its first byte (%020d.log).
type segment struct {
	base    Position
	f       File
	path    string
	size    int64 // bytes handed to the OS
	synced  int64 // bytes covered by an fdatasync
	created time.Time
}

func (s *segment) end() Position { return s.base + Position(s.size) }

func segmentName(base Position) string { return fmt.Sprintf("%020d.log", uint64(base)) }

// listSegments returns the bases of the segment files in dir, in order.
func listSegments(fsys FS, dir string) ([]Position, error) {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Position
	for _, name := range names {
		base, ok := strings.CutSuffix(name, ".log")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(base, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: unexpected file %s", ErrCorrupt, name)
		}
		out = append(out, Position(v))
	}
	return out, nil
}

func openSegment(fsys FS, dir string, base Position, create bool, now time.Time) (*segment, error) {
	path := filepath.Join(dir, segmentName(base))
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE | os.O_EXCL
	}
	f, err := fsys.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, err
	}
	size, err := f.Size()
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return &segment{base: base, f: f, path: path, size: size, synced: size, created: now}, nil
}

// scanResult is how a segment scan ended.
type scanResult struct {
	valid int64 // bytes of whole valid records from the start offset
	bad   bool  // an invalid record follows them
}

// scanSegment reads records from offset from to the end of s, calling fn
// for each valid one. It stops at the first invalid record.
func scanSegment(s *segment, from int64, fn func(pos Position, m *Message) error) (scanResult, error) {
	const chunk = 1 << 20
	buf := make([]byte, chunk)
	off := from
	for off < s.size {
		want := min(int64(len(buf)), s.size-off)
		n, err := s.f.ReadAt(buf[:want], off)
		if int64(n) < min(want, recHeader) && err != nil {
			return scanResult{valid: off - from}, err
		}
		b := buf[:n]
		if len(b) < recHeader {
			return scanResult{valid: off - from, bad: true}, nil
		}
		size, ok := recordLen(b)
		if !ok || int64(size) > s.size-off {
			return scanResult{valid: off - from, bad: true}, nil
		}
		if size > len(b) {
			if size > len(buf) {
				buf = make([]byte, size)
			}
			if _, err := s.f.ReadAt(buf[:size], off); err != nil {
				return scanResult{valid: off - from}, err
			}
			b = buf[:size]
		}
		for len(b) >= recHeader {
			size, ok := recordLen(b)
			if !ok || int64(size) > s.size-off {
				return scanResult{valid: off - from, bad: true}, nil
			}
			if size > len(b) {
				break
			}
			var m Message
			if decodeRecord(b[:size], &m) != nil {
				return scanResult{valid: off - from, bad: true}, nil
			}
			if err := fn(s.base+Position(off), &m); err != nil {
				return scanResult{valid: off - from}, err
			}
			off += int64(size)
			b = b[size:]
		}
	}
	return scanResult{valid: off - from}, nil
}

// validAfter reports whether any valid record starts after offset bad in
// s, looking at most limit bytes ahead: that tells mid-file corruption
// from a torn tail.
func validAfter(s *segment, bad int64, limit int64) (int64, bool, error) {
	end := min(s.size, bad+limit)
	if end-bad <= 1 {
		return 0, false, nil
	}
	buf := make([]byte, end-bad)
	if _, err := s.f.ReadAt(buf, bad); err != nil {
		return 0, false, err
	}
	for i := 1; i+recHeader <= len(buf); i++ {
		size, ok := recordLen(buf[i:])
		if !ok || i+size > len(buf) {
			continue
		}
		var m Message
		if decodeRecord(buf[i:i+size], &m) == nil {
			return bad + int64(i), true, nil
		}
	}
	return 0, false, nil
}
