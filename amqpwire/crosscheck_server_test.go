package amqpwire

import (
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// fakeServer is a scripted AMQP server built on this package's codec, for
// checking the codec against amqp091-go from both sides: what the client
// sends is decoded here and recorded, and what we encode must be decoded by
// the client to the same values.
type fakeServer struct {
	conn net.Conn
	r    *FrameReader
	got  chan received

	mu       sync.Mutex // serializes writes from the server and the test
	buf      []byte
	frameMax uint32
	tags     uint64 // publishes seen, for confirms
}

// received is one method the client sent, with its content if it has any.
type received struct {
	channel uint16
	method  Method
	props   Properties
	body    []byte
	err     error
}

const (
	fakeFrameMax = 4096 // small, so bodies are split into several frames
	fakeVhost    = "/vh"
)

func newFakeServer(conn net.Conn) *fakeServer {
	s := &fakeServer{conn: conn, r: NewFrameReader(conn), got: make(chan received, 64), frameMax: fakeFrameMax}
	return s
}

func serverProperties() Table {
	return Table{
		"product":      "warren-fake",
		"capabilities": Table{"publisher_confirms": true, "basic.nack": true, "connection.blocked": true},
		"all-types":    allTypesTable(),
	}
}

// write sends frames appended by fn.
func (s *fakeServer) write(fn func(dst []byte) []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = fn(s.buf[:0])
	_, _ = s.conn.Write(s.buf) // the test sees a failed write as a missing reply
}

func (s *fakeServer) send(channel uint16, m Method) {
	s.write(func(dst []byte) []byte { return AppendMethodFrame(dst, channel, m) })
}

// sendContent sends a method with content: method, header, body frames.
func (s *fakeServer) sendContent(channel uint16, m Method, p Properties, body []byte) error {
	raw, err := p.Append(nil)
	if err != nil {
		return err
	}
	s.write(func(dst []byte) []byte {
		dst = AppendMethodFrame(dst, channel, m)
		dst = AppendHeaderFrame(dst, channel, ClassBasic, uint64(len(body)), raw)
		return AppendBodyFrames(dst, channel, body, s.frameMax)
	})
	return nil
}

// serve runs the handshake's server side and answers every method.
func (s *fakeServer) serve() {
	defer close(s.got)
	if err := s.r.ReadProtocolHeader(); err != nil {
		s.got <- received{err: err}
		return
	}
	s.send(0, &ConnectionStart{VersionMajor: 0, VersionMinor: 9, ServerProperties: serverProperties(),
		Mechanisms: "PLAIN AMQPLAIN", Locales: "en_US"})
	for {
		rec, ok := s.next()
		if !ok {
			return
		}
		s.got <- rec
		if rec.err != nil {
			return
		}
		s.reply(rec)
	}
}

// next reads one method and its content; false at the end of the stream.
func (s *fakeServer) next() (received, bool) {
	f, err := s.r.ReadFrame()
	for err == nil && f.Type == FrameHeartbeat {
		f, err = s.r.ReadFrame()
	}
	if err != nil {
		return received{}, false
	}
	rec := received{channel: f.Channel}
	if f.Type != FrameMethod {
		rec.err = errorf(UnexpectedFrame, "frame type %d", f.Type)
		return rec, true
	}
	if rec.method, rec.err = DecodeMethod(f.Payload); rec.err != nil || !rec.method.HasContent() {
		return rec, true
	}
	f, err = s.r.ReadFrame()
	if err != nil {
		rec.err = err
		return rec, true
	}
	h, err := DecodeContentHeader(f.Payload)
	if err != nil {
		rec.err = err
		return rec, true
	}
	if rec.props, rec.err = DecodeProperties(h.Properties); rec.err != nil {
		return rec, true
	}
	rec.body = []byte{}
	for uint64(len(rec.body)) < h.BodySize {
		if f, err = s.r.ReadFrame(); err != nil || f.Type != FrameBody {
			rec.err = errorf(UnexpectedFrame, "want a body frame: %v", err)
			return rec, true
		}
		if len(f.Payload) > int(s.frameMax-8) {
			rec.err = errorf(FrameError, "body frame of %d bytes over frame max", len(f.Payload))
		}
		rec.body = append(rec.body, f.Payload...)
	}
	return rec, true
}

// reply answers a method as a broker would.
func (s *fakeServer) reply(rec received) {
	ch := rec.channel
	switch m := rec.method.(type) {
	case *ConnectionStartOk:
		s.send(0, &ConnectionTune{ChannelMax: 2047, FrameMax: fakeFrameMax, Heartbeat: 0})
	case *ConnectionTuneOk:
		s.r.SetFrameMax(m.FrameMax)
	case *ConnectionOpen:
		s.send(0, &ConnectionOpenOk{})
	case *ConnectionUpdateSecret:
		s.send(0, &ConnectionUpdateSecretOk{})
	case *ConnectionClose:
		s.send(0, &ConnectionCloseOk{})
	case *ChannelOpen:
		s.send(ch, &ChannelOpenOk{})
	case *ChannelClose:
		s.send(ch, &ChannelCloseOk{})
	case *ChannelFlow:
		s.send(ch, &ChannelFlowOk{Active: m.Active})
	case *ConfirmSelect:
		s.send(ch, &ConfirmSelectOk{})
	case *TxSelect:
		s.send(ch, &TxSelectOk{})
	case *TxCommit:
		s.send(ch, &TxCommitOk{})
	case *QueueDeclare:
		s.send(ch, &QueueDeclareOk{Queue: m.Queue, MessageCount: 7, ConsumerCount: 3})
	case *ExchangeBind:
		s.send(ch, &ExchangeBindOk{})
	case *BasicQos:
		s.send(ch, &BasicQosOk{})
	case *BasicConsume:
		s.send(ch, &BasicConsumeOk{ConsumerTag: m.ConsumerTag})
	case *BasicGet:
		_ = s.sendContent(ch, &BasicGetOk{DeliveryTag: 5, Exchange: "ex", RoutingKey: m.Queue, MessageCount: 3},
			Properties{ContentType: "text/plain"}, []byte("got it"))
	case *BasicPublish:
		s.tags++
		if s.tags%2 == 1 {
			s.send(ch, &BasicAck{DeliveryTag: s.tags})
		} else {
			s.send(ch, &BasicNack{DeliveryTag: s.tags, Requeue: true})
		}
	}
}

// toClient converts a decoded value into the types amqp091-go decodes to.
func toClient(v any) any {
	switch v := v.(type) {
	case Table:
		out := amqp.Table{}
		for k, x := range v {
			out[k] = toClient(x)
		}
		return out
	case []any:
		var out []any // amqp091-go decodes an empty array as nil
		for _, x := range v {
			out = append(out, toClient(x))
		}
		return out
	case Decimal:
		return amqp.Decimal{Scale: v.Scale, Value: v.Value}
	case time.Time:
		return time.Unix(v.Unix(), 0) // amqp091-go decodes in local time
	}
	return v
}

// fromClient converts a value as amqp091-go encodes it into our types.
func fromClient(v any) any {
	switch v := v.(type) {
	case amqp.Table:
		out := Table{}
		for k, x := range v {
			out[k] = fromClient(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = fromClient(x)
		}
		return out
	case amqp.Decimal:
		return Decimal{Scale: v.Scale, Value: v.Value}
	case time.Time:
		return v.UTC()
	}
	return v
}
