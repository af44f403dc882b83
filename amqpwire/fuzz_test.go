package amqpwire

// Fuzz targets. `go test` runs the seeds (f.Add and testdata/fuzz/); fuzz by
// hand, one target at a time:
//
//	go test -run='^$' -fuzz='^FuzzFrameReader$' -fuzztime=2m -parallel=1 ./amqpwire/
//
// and add any crasher the fuzzer writes to testdata/fuzz to the commit.

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// requireProtocolError fails unless err is nil, an I/O end, or an *Error
// with a reply code the spec defines.
func requireProtocolError(t *testing.T, err error) {
	t.Helper()
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return
	}
	var e *Error
	if !errors.As(err, &e) || ReplyName(e.Code) == "" {
		t.Fatalf("not a protocol error: %#v", err)
	}
}

// twoReads hands out its input in two reads split at split, as a network
// would.
type twoReads struct {
	a, b []byte
}

func (r *twoReads) Read(p []byte) (int, error) {
	if len(r.a) == 0 {
		r.a, r.b = r.b, nil
	}
	if len(r.a) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.a)
	r.a = r.a[n:]
	return n, nil
}

func FuzzFrameReader(f *testing.F) {
	for _, frames := range goldenFrames(f) {
		f.Add(frames, uint32(FrameMinSize), uint16(3))
	}
	f.Add([]byte(ProtocolHeader+"\x08\x00\x00\x00\x00\x00\x00\xce"), uint32(0), uint16(9))
	f.Fuzz(func(t *testing.T, data []byte, frameMax uint32, split uint16) {
		cut := min(int(split), len(data))
		r := NewFrameReader(&twoReads{a: data[:cut], b: data[cut:]})
		r.SetFrameMax(frameMax)
		if bytes.HasPrefix(data, []byte("AMQP")) {
			if err := r.ReadProtocolHeader(); err != nil {
				requireProtocolError(t, err)
				return
			}
		}
		for {
			fr, err := r.ReadFrame()
			if err != nil {
				requireProtocolError(t, err)
				return
			}
			if frameMax != 0 && uint64(len(fr.Payload))+8 > uint64(frameMax) {
				t.Fatalf("payload of %d bytes passed frame max %d", len(fr.Payload), frameMax)
			}
			checkPayload(t, fr)
		}
	})
}

// checkPayload decodes a frame's payload by its type; errors must be
// protocol errors.
func checkPayload(t *testing.T, fr Frame) {
	switch fr.Type {
	case FrameMethod:
		_, err := DecodeMethod(fr.Payload)
		requireProtocolError(t, err)
	case FrameHeader:
		h, err := DecodeContentHeader(fr.Payload)
		requireProtocolError(t, err)
		if err == nil {
			if _, err := DecodeProperties(h.Properties); err != nil {
				t.Fatalf("DecodeContentHeader passed what DecodeProperties rejects: %v", err)
			}
		}
	}
}

func FuzzDecodeTable(f *testing.F) {
	for _, tbl := range []Table{allTypesTable(), serverProperties(), {}} {
		b, err := AppendTable(nil, tbl)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[4:])
	}
	f.Add([]byte{1, 'k', 'Z'})
	f.Fuzz(func(t *testing.T, b []byte) {
		tbl, err := DecodeTable(b)
		verr := ValidateTable(b)
		if (err == nil) != (verr == nil) {
			t.Fatalf("DecodeTable: %v, ValidateTable: %v", err, verr)
		}
		if err != nil {
			requireProtocolError(t, err)
			return
		}
		// Encoding is canonical: decode → encode is a fixed point after one
		// round (keys sorted, duplicates gone).
		enc1, err := AppendTable(nil, tbl)
		if err != nil {
			t.Fatalf("cannot encode a decoded table: %v", err)
		}
		tbl2, err := DecodeTable(enc1[4:])
		if err != nil {
			t.Fatalf("cannot decode an encoded table: %v", err)
		}
		enc2, err := AppendTable(nil, tbl2)
		if err != nil || !bytes.Equal(enc1, enc2) {
			t.Fatalf("table encoding is not stable: %v\n%x\n%x", err, enc1, enc2)
		}
	})
}

func FuzzDecodeMethod(f *testing.F) {
	for _, m := range allMethods() {
		fillMethod(m)
		f.Add(payloadOf(m))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := DecodeMethod(payload)
		if err != nil {
			requireProtocolError(t, err)
			return
		}
		enc1 := AppendMethodFrame(nil, 1, m)
		m2, err := DecodeMethod(enc1[7 : len(enc1)-1])
		if err != nil {
			t.Fatalf("cannot decode an encoded %s: %v", m.Name(), err)
		}
		if enc2 := AppendMethodFrame(nil, 1, m2); !bytes.Equal(enc1, enc2) {
			t.Fatalf("%s encoding is not stable:\n%x\n%x", m.Name(), enc1, enc2)
		}
	})
}

func FuzzContentHeader(f *testing.F) {
	for _, p := range []Properties{allProperties(), {}, {DeliveryMode: 2}} {
		raw, err := p.Append(nil)
		if err != nil {
			f.Fatal(err)
		}
		frame := AppendHeaderFrame(nil, 1, ClassBasic, 10, raw)
		f.Add(frame[7 : len(frame)-1])
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		h, err := DecodeContentHeader(payload)
		if err != nil {
			requireProtocolError(t, err)
			return
		}
		if _, err := ViewProperties(h.Properties); err != nil {
			t.Fatalf("ViewProperties rejects a validated header: %v", err)
		}
		p, err := DecodeProperties(h.Properties)
		if err != nil {
			t.Fatalf("DecodeProperties rejects a validated header: %v", err)
		}
		raw1, err := p.Append(nil)
		if err != nil {
			t.Fatalf("cannot encode decoded properties: %v", err)
		}
		p2, err := DecodeProperties(raw1)
		if err != nil {
			t.Fatalf("cannot decode encoded properties: %v", err)
		}
		if raw2, err := p2.Append(nil); err != nil || !bytes.Equal(raw1, raw2) {
			t.Fatalf("property encoding is not stable: %v\n%x\n%x", err, raw1, raw2)
		}
	})
}
