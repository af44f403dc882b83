package store

import (
	"testing"
)

// The decoders of what is read back from disk must reject, never panic on,
// arbitrary bytes. Run longer by hand: go test -fuzz FuzzDecodeRecord ./store/

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, &Message{Topic: 1, Revision: 2, RoutingKey: []byte("k"), Body: []byte("body")}))
	f.Add([]byte{})
	f.Add(make([]byte, recHeader))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if decodeRecord(b, &m) == nil {
			if got := appendRecord(nil, &m); string(got) != string(b) {
				t.Fatalf("a record that decodes does not encode back to itself")
			}
		}
		var e entry
		if len(b) >= entrySize {
			e.decode(b, 1)
		}
	})
}

func FuzzStateRecords(f *testing.F) {
	var s stateLog
	g := newGroup(7, true)
	g.bindings = []*binding{{Binding: Binding{Key: "k", Topic: 3, Spec: []byte("a.*"), From: 1}}}
	g.pending[100] = &inflight{pos: 100}
	g.skip.add(200, 300)
	s.putGroup(g)
	s.putCheckpoint(g, 400)
	s.putAcks(7, []*inflight{{pos: 150, bodyLen: 3, persistent: true}})
	s.putPair(stMark, 7, 500)
	s.putIndex(400, map[TopicID]int64{3: 2})
	f.Add(s.buf)
	f.Fuzz(func(t *testing.T, b []byte) {
		rs := newRecState()
		for len(b) > 1 {
			n := int(b[0]) % len(b)
			_ = rs.apply(b[1]%9, &reader{b: b[2:min(len(b), 2+n)]})
			b = b[min(len(b), 2+n):]
		}
	})
}
