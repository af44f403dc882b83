package amqpwire

// Hot-path benchmarks; run by hand:
//
//	go test -run='^$' -bench=. -benchmem ./amqpwire/

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hotProperties are what a typical publisher sends.
func hotProperties() Properties {
	return Properties{
		ContentType:  "application/json",
		DeliveryMode: 2,
		MessageID:    "0b5c7f2e-1d2a-4c55-9b1e-6f0f4d7a9e21",
		Timestamp:    time.Unix(1700000000, 0),
		Headers:      Table{"x-trace-id": "abc123", "attempt": int32(1)},
	}
}

var hotBody = bytes.Repeat([]byte("x"), 1024)

// publishFrames is basic.publish + content header + one body frame.
func publishFrames(t testing.TB) []byte {
	p := hotProperties()
	raw, err := p.Append(nil)
	require.NoError(t, err)
	b := (&BasicPublish{Exchange: "orders", RoutingKey: "order.created.eu"}).AppendFrame(nil, 1)
	b = AppendHeaderFrame(b, 1, ClassBasic, uint64(len(hotBody)), raw)
	return AppendBodyFrames(b, 1, hotBody, 131072)
}

// publishDecoder is the proxy's publish path: frames read through a
// FrameReader, basic.publish decoded into a reused struct, the content
// header validated and its properties viewed.
type publishDecoder struct {
	r   *FrameReader
	pub BasicPublish
}

func (d *publishDecoder) next() (PropertyView, []byte, error) {
	f, err := d.r.ReadFrame()
	if err != nil {
		return PropertyView{}, nil, err
	}
	_, _, args, err := MethodIDs(f.Payload)
	if err != nil {
		return PropertyView{}, nil, err
	}
	if err := d.pub.DecodeArgs(args); err != nil {
		return PropertyView{}, nil, err
	}
	if f, err = d.r.ReadFrame(); err != nil {
		return PropertyView{}, nil, err
	}
	h, err := DecodeContentHeader(f.Payload)
	if err != nil {
		return PropertyView{}, nil, err
	}
	v, err := ViewProperties(h.Properties)
	if err != nil {
		return PropertyView{}, nil, err
	}
	if f, err = d.r.ReadFrame(); err != nil {
		return PropertyView{}, nil, err
	}
	return v, f.Payload, nil
}

func newPublishDecoder(t testing.TB) (*publishDecoder, int) {
	frames := publishFrames(t)
	r := NewFrameReader(&loopReader{b: frames})
	r.SetFrameMax(131072)
	d := &publishDecoder{r: r}
	_, _, err := d.next() // warm up: buffer grown, strings set
	require.NoError(t, err)
	return d, len(frames)
}

func BenchmarkDecodePublish(b *testing.B) {
	d, n := newPublishDecoder(b)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		v, body, err := d.next()
		if err != nil || v.DeliveryMode != 2 || len(body) != len(hotBody) {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// deliverEncoder is the proxy's deliver path: stored raw properties and
// body appended as basic.deliver + header + body into a reused buffer.
type deliverEncoder struct {
	buf      []byte
	deliver  BasicDeliver
	rawProps []byte
}

func (e *deliverEncoder) next(tag uint64) []byte {
	e.deliver.DeliveryTag = tag
	e.buf = e.deliver.AppendFrame(e.buf[:0], 1)
	e.buf = AppendHeaderFrame(e.buf, 1, ClassBasic, uint64(len(hotBody)), e.rawProps)
	e.buf = AppendBodyFrames(e.buf, 1, hotBody, 131072)
	return e.buf
}

func newDeliverEncoder(t testing.TB) *deliverEncoder {
	p := hotProperties()
	raw, err := p.Append(nil)
	require.NoError(t, err)
	e := &deliverEncoder{rawProps: raw, deliver: BasicDeliver{ConsumerTag: "amq.ctag-abc", Exchange: "orders",
		RoutingKey: "order.created.eu"}}
	e.next(0) // warm up: buffer grown
	return e
}

func BenchmarkEncodeDeliver(b *testing.B) {
	e := newDeliverEncoder(b)
	b.SetBytes(int64(len(e.buf)))
	b.ReportAllocs()
	tag := uint64(0)
	for b.Loop() {
		tag++
		e.next(tag)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func TestPublishDecodeDoesNotAllocate(t *testing.T) {
	d, _ := newPublishDecoder(t)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, _, err := d.next(); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
	require.Equal(t, BasicPublish{Exchange: "orders", RoutingKey: "order.created.eu"}, d.pub)
}

func TestDeliverEncodeDoesNotAllocate(t *testing.T) {
	e := newDeliverEncoder(t)
	tag := uint64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		tag++
		e.next(tag)
	})
	require.Zero(t, allocs)
	f, err := NewFrameReader(bytes.NewReader(e.buf)).ReadFrame()
	require.NoError(t, err)
	m, err := DecodeMethod(f.Payload)
	require.NoError(t, err)
	require.Equal(t, tag, m.(*BasicDeliver).DeliveryTag)
}

func BenchmarkDecodeTable(b *testing.B) {
	raw, err := AppendTable(nil, allTypesTable())
	require.NoError(b, err)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTable(raw[4:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateTable(b *testing.B) {
	raw, err := AppendTable(nil, allTypesTable())
	require.NoError(b, err)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateTable(raw[4:]); err != nil {
			b.Fatal(err)
		}
	}
}
