package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/store"
)

// closeTimeout bounds how long a connection waits for connection.close-ok
// (and for its last writes) once it is closing.
const closeTimeout = 2 * time.Second

// lingerTimeout and lingerMaxBytes bound how long and how much lingerClose
// drains from a refused peer.
const (
	lingerTimeout  = time.Second
	lingerMaxBytes = 64 << 10
)

// errConnDone ends the read loop without an error (close-ok exchanged).
var errConnDone = errors.New("proxy: connection done")

// conn is one AMQP connection. Its reader goroutine (serve) decodes frames
// and drives the channel state machines; its writer goroutine (writeLoop)
// flushes the outbound buffer in one write whenever it has work, pumps
// deliveries for consumers with credit, and sends heartbeats.
//
// Lock order: Server.mu, then registry.mu, then conn.mu; conn.mu is never
// held while calling the store or meta.
type conn struct {
	srv  *Server
	nc   net.Conn
	log  *slog.Logger
	id   uint64
	name string // "peer:port -> local:port", as RabbitMQ names connections
	ctx  context.Context
	stop context.CancelFunc

	r *amqpwire.FrameReader

	// Set by the reader during the handshake, read-only afterwards.
	frameMax      uint32
	channelMax    uint16
	heartbeat     atomic.Uint32 // seconds, 0 = none
	user          string
	vhost         string
	ns            store.Namespace
	clientProps   amqpwire.Table
	cancelNotify  bool // the client announced consumer_cancel_notify
	authMechanism string
	impersonator  bool // the user's tags hold impersonator: any user_id passes (pubcheck.go)
	connectedAt   time.Time
	opened        atomic.Bool
	ownsQueues    atomic.Bool // declared an exclusive queue
	stats         connStats   // socket counters (stats.go)
	statsRetired  bool        // stats moved to the vhost's; statsBook.mu

	// chans is the reader's own view of the channels; mu.chans mirrors it
	// for the writer and the admin API.
	chans map[uint16]*channel

	lastRead     time.Time       // reader only: when the read deadline was last pushed
	alarm        alarmState      // reader only (alarm.go)
	pumpWork     []pumpItem      // writer only
	receiptBuf   []store.Receipt // writer only
	wake         chan struct{}
	writerDone   chan struct{}
	teardownOnce sync.Once
	// lingerOnClose asks teardown to half-close and drain before closing:
	// set when the handshake refuses the peer without a connection.close.
	lingerOnClose bool

	mu struct {
		sync.Mutex
		out     []byte              // frames waiting for the writer
		chans   map[uint16]*channel // open channels
		closing bool                // connection.close sent or received
		// finish tells the writer to flush once more and exit.
		finish bool
		state  string
		// confirmDirty lists channels with coalesced confirms to send.
		confirmDirty []*channel
	}
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		srv:        s,
		nc:         nc,
		id:         s.nextID.Add(1),
		name:       nc.RemoteAddr().String() + " -> " + nc.LocalAddr().String(),
		r:          amqpwire.NewFrameReader(nc),
		chans:      map[uint16]*channel{},
		wake:       make(chan struct{}, 1),
		writerDone: make(chan struct{}),
	}
	c.r = amqpwire.NewFrameReader(countingReader{r: nc, s: &c.stats})
	c.ctx, c.stop = context.WithCancel(s.ctx)
	c.log = s.log.With("conn", c.name)
	c.mu.chans = map[uint16]*channel{}
	c.mu.state = "starting"
	c.connectedAt = time.Now()
	return c
}

// serve runs the connection to its end on the calling goroutine.
func (c *conn) serve() {
	go c.writeLoop()
	defer c.teardown()
	if err := c.handshake(); err != nil {
		c.log.Debug("proxy: handshake ended", "err", err)
		c.mu.Lock()
		closing := c.mu.closing
		c.mu.Unlock()
		if closing {
			_ = c.readLoop() // wait for close-ok so that the peer reads our close
		} else {
			c.lingerOnClose = true
		}
		return
	}
	c.setState("running")
	if err := c.readLoop(); err != nil && !errors.Is(err, errConnDone) && !errors.Is(err, io.EOF) {
		c.log.Debug("proxy: connection ended", "err", err)
	}
}

func (c *conn) setState(s string) {
	c.mu.Lock()
	c.mu.state = s
	c.mu.Unlock()
}

// send appends frames built by f to the outbound buffer and wakes the
// writer. f runs under c.mu.
func (c *conn) send(f func(dst []byte) []byte) {
	c.mu.Lock()
	c.mu.out = f(c.mu.out)
	c.mu.Unlock()
	c.signal()
}

// sendMethod queues one method frame.
func (c *conn) sendMethod(channel uint16, m amqpwire.Method) {
	c.send(func(dst []byte) []byte { return amqpwire.AppendMethodFrame(dst, channel, m) })
}

// signal wakes the writer.
func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// readLoop reads frames until the connection ends.
func (c *conn) readLoop() error {
	for {
		if err := c.holdWhileBlocked(); err != nil {
			return err
		}
		c.pushReadDeadline()
		f, err := c.r.ReadFrame()
		if err != nil {
			if pe := fromWire(err); pe != nil {
				c.closeConnection(pe)
				return err
			}
			return err
		}
		c.notePublish(f)
		err = c.handleFrame(f)
		if err == nil {
			continue
		}
		if errors.Is(err, errConnDone) {
			return err
		}
		pe := asProto(err, nil)
		if pe.hard() || f.Channel == 0 {
			c.log.Debug("proxy: connection error", "code", pe.code, "text", pe.text)
			c.closeConnection(pe)
			continue
		}
		if ch := c.chans[f.Channel]; ch != nil {
			ch.fail(pe)
		}
	}
}

// pushReadDeadline keeps the read deadline at two heartbeat intervals of
// silence (a dead peer is detected in two intervals), resetting it at most
// every quarter interval to keep the per-frame cost low.
func (c *conn) pushReadDeadline() {
	c.mu.Lock()
	closing := c.mu.closing
	c.mu.Unlock()
	if closing {
		return // closeConnection set a fixed deadline
	}
	hb := time.Duration(c.heartbeat.Load()) * time.Second
	if hb == 0 {
		if !c.lastRead.IsZero() {
			c.lastRead = time.Time{}
			_ = c.nc.SetReadDeadline(time.Time{})
		}
		return
	}
	now := time.Now()
	if now.Sub(c.lastRead) < hb/4 {
		return
	}
	c.lastRead = now
	_ = c.nc.SetReadDeadline(now.Add(2 * hb))
}

// handleFrame dispatches one frame.
func (c *conn) handleFrame(f amqpwire.Frame) error {
	ch := c.chans[f.Channel]
	c.mu.Lock()
	closing := c.mu.closing
	timedOut := ch != nil && ch.timedOut
	c.mu.Unlock()
	if closing {
		return c.handleWhileClosing(f)
	}
	if timedOut && !ch.closing {
		// The writer closed the channel (consumer_timeout); from here on
		// the reader treats it as any channel it closed.
		ch.closing, ch.content = true, expectMethod
	}
	switch f.Type {
	case amqpwire.FrameHeartbeat:
		if f.Channel != 0 {
			return errorf(amqpwire.UnexpectedFrame, nil, "type 8, all octets = <<>>")
		}
		return nil
	case amqpwire.FrameMethod:
		if f.Channel == 0 {
			return c.handleConnMethod(f.Payload)
		}
		if ch == nil {
			return c.openChannel(f.Channel, f.Payload)
		}
		return ch.handleMethod(f.Payload)
	default: // header or body
		if f.Channel == 0 {
			return errorf(amqpwire.UnexpectedFrame, nil, "content frame on channel 0")
		}
		if ch == nil {
			return errorf(amqpwire.ChannelError, nil, "expected 'channel.open'")
		}
		return ch.handleContent(f)
	}
}

// handleWhileClosing discards everything but connection.close and
// connection.close-ok once the connection is closing.
func (c *conn) handleWhileClosing(f amqpwire.Frame) error {
	if f.Type != amqpwire.FrameMethod || f.Channel != 0 {
		return nil
	}
	cls, mth, _, err := amqpwire.MethodIDs(f.Payload)
	if err != nil || cls != amqpwire.ClassConnection {
		return nil
	}
	switch mth {
	case methodConnectionCloseOk:
		return errConnDone
	case methodConnectionClose:
		c.sendMethod(0, &amqpwire.ConnectionCloseOk{})
		return errConnDone
	}
	return nil
}

// Method ids of the connection class that the reader matches directly.
const (
	methodConnectionClose   = 50
	methodConnectionCloseOk = 51
)

// handleConnMethod handles a method on channel 0 after the handshake.
func (c *conn) handleConnMethod(payload []byte) error {
	m, err := decodeMethod(payload)
	if err != nil {
		return err
	}
	switch m := m.(type) {
	case *amqpwire.ConnectionClose:
		c.log.Debug("proxy: client closed connection", "code", m.ReplyCode, "text", m.ReplyText)
		c.mu.Lock()
		c.mu.closing = true
		c.mu.state = "closing"
		c.mu.Unlock()
		c.sendMethod(0, &amqpwire.ConnectionCloseOk{})
		return errConnDone
	case *amqpwire.ConnectionCloseOk:
		return errConnDone
	case *amqpwire.ConnectionBlocked, *amqpwire.ConnectionUnblocked:
		return nil
	case *amqpwire.ConnectionUpdateSecret:
		// Warren's users are all internal ones, whose secret RabbitMQ's
		// internal backend takes without a check (the password was
		// checked at login): update-secret-ok, nothing changes.
		c.sendMethod(0, &amqpwire.ConnectionUpdateSecretOk{})
		return nil
	}
	return errorf(amqpwire.ChannelError, m, "unexpected method in connection state running")
}

// closeConnection starts the server side of a connection close: it sends
// connection.close, discards everything but close-ok and gives the peer
// closeTimeout to answer.
func (c *conn) closeConnection(pe *protoError) {
	c.mu.Lock()
	if c.mu.closing {
		c.mu.Unlock()
		return
	}
	c.mu.closing = true
	c.mu.state = "closing"
	c.mu.out = amqpwire.AppendMethodFrame(c.mu.out, 0, &amqpwire.ConnectionClose{
		ReplyCode: pe.code, ReplyText: replyText(pe.text), FailedClassID: pe.classID, FailedMethodID: pe.methodID,
	})
	c.mu.Unlock()
	c.signal()
	_ = c.nc.SetReadDeadline(time.Now().Add(closeTimeout))
}

// forceClose closes the connection from the server side with 320
// CONNECTION_FORCED (broker shutdown, admin API).
func (c *conn) forceClose(text string) {
	if !c.opened.Load() {
		_ = c.nc.Close() // mid-handshake: nothing the client could read as a close
		return
	}
	c.closeConnection(&protoError{code: amqpwire.ConnectionForced, text: text})
}

// teardown releases everything the connection holds: consumers, unacked
// messages, exclusive queues; then flushes and closes the socket.
func (c *conn) teardown() {
	c.teardownOnce.Do(func() {
		c.mu.Lock()
		c.mu.closing = true
		chans := make([]*channel, 0, len(c.mu.chans))
		for _, ch := range c.mu.chans {
			chans = append(chans, ch)
		}
		c.mu.Unlock()
		for _, ch := range chans {
			ch.release()
		}
		if c.ownsQueues.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if _, err := c.srv.md.DeleteOwnedQueues(ctx, c.name); err != nil {
				c.log.Warn("proxy: delete exclusive queues", "err", err)
			}
			cancel()
		}
		c.mu.Lock()
		c.mu.finish = true
		c.mu.state = "closed"
		c.mu.Unlock()
		c.signal()
		_ = c.nc.SetWriteDeadline(time.Now().Add(closeTimeout))
		<-c.writerDone
		if c.lingerOnClose {
			c.lingerClose()
		}
		c.srv.retireConn(c)
		_ = c.nc.Close()
		c.stop()
	})
}

// lingerClose sends FIN and discards what the peer still sends, for a
// bounded time, before the socket is closed. Closing a socket with unread
// input makes the kernel answer with RST, and a client that pipelined
// connection.open behind a refused tune-ok would read "connection reset"
// instead of the end of the stream.
func (c *conn) lingerClose() {
	hc, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || hc.CloseWrite() != nil {
		return
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.CopyN(io.Discard, c.nc, lingerMaxBytes)
}

// peer splits the remote address into host and port.
func splitHostPort(a net.Addr) (string, int) {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String(), 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}
