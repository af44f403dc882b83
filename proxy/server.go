package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/fx"

	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// Config configures the AMQP listener. Zero fields take the defaults.
type Config struct {
	AMQPAddr       string // e.g. ":5672"
	FrameMax       uint32 // default 131072
	ChannelMax     uint16 // default 2047
	Heartbeat      uint16 // seconds, default 60
	MaxMessageSize int    // default 128 MiB (RabbitMQ's)
	// ConsumerTimeout closes a channel (406) whose oldest unacknowledged
	// delivery is older than this; default 30 min (RabbitMQ's
	// consumer_timeout), negative disables.
	ConsumerTimeout time.Duration
	Logger          *slog.Logger
	Security        // amqps listener and loopback users (security.go)
	// Alarms blocks publishing connections while a resource alarm is
	// active (alarm.go); nil never blocks.
	Alarms AlarmSource
}

// Defaults, as RabbitMQ 3.10.
const (
	DefaultFrameMax       = 131072
	DefaultChannelMax     = 2047
	DefaultHeartbeat      = 60
	DefaultMaxMessageSize = 128 << 20
	// DefaultConsumerTimeout is RabbitMQ's consumer_timeout.
	DefaultConsumerTimeout = 30 * time.Minute
)

// Module provides *Server and meta.Sessions from a Config supplied by the
// application, starting and stopping the server with the fx lifecycle.
var Module = fx.Module("proxy",
	fx.Provide(
		New,
		func(s *Server) meta.Sessions { return s },
	),
	fx.Invoke(func(lc fx.Lifecycle, s *Server) {
		lc.Append(fx.Hook{OnStart: s.Start, OnStop: s.Close})
	}),
)

// Server is MQ-Proxy: it accepts AMQP connections and serves them against a
// store and meta. It implements meta.Sessions.
type Server struct {
	cfg  Config
	log  *slog.Logger
	st   store.Store
	md   meta.Service
	topo *topology
	subs *registry
	// stats keeps queue, exchange and closed-channel counters (stats.go).
	stats *statsBook

	nextID atomic.Uint64 // connection and channel owner ids
	// replies maps a channel's owner id to the channel for direct reply-to.
	replies sync.Map

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // accept loop and meta follower
	connWG sync.WaitGroup // connections

	mu struct {
		sync.Mutex
		ln      net.Listener
		tlsLn   net.Listener // amqps, nil when off
		started bool
		closed  bool
		conns   map[*conn]struct{}
	}
}

// New builds a server; Start listens.
func New(cfg Config, st store.Store, md meta.Service) (*Server, error) {
	if st == nil || md == nil {
		return nil, errors.New("proxy: a store and a meta service are required")
	}
	if cfg.FrameMax == 0 {
		cfg.FrameMax = DefaultFrameMax
	}
	if cfg.FrameMax < 4096 {
		return nil, fmt.Errorf("proxy: frame max %d below the AMQP minimum 4096", cfg.FrameMax)
	}
	if cfg.ChannelMax == 0 {
		cfg.ChannelMax = DefaultChannelMax
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.ConsumerTimeout == 0 {
		cfg.ConsumerTimeout = DefaultConsumerTimeout
	}
	if cfg.AMQPAddr == "" {
		cfg.AMQPAddr = ":5672"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, st: st, md: md}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.topo = newTopology(md, st, s.log)
	s.subs = newRegistry(s)
	s.stats = newStatsBook()
	s.topo.stats = s.stats
	s.topo.queueGone = s.subs.queueDeleted
	s.topo.vhostGone = s.closeVhostConnections
	s.topo.queueInUse = func(vhost string, id uint64) bool { return s.subs.count(vhost, id) > 0 }
	s.mu.conns = map[*conn]struct{}{}
	return s, nil
}

// Start loads meta's snapshot, listens and accepts connections in a
// goroutine; it returns at once.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return ErrClosed
	}
	if s.mu.started {
		return ErrStarted
	}
	if err := s.topo.load(ctx); err != nil {
		return fmt.Errorf("proxy: load meta snapshot: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.AMQPAddr)
	if err != nil {
		return fmt.Errorf("proxy: listen: %w", err)
	}
	tlsLn, err := s.tlsListen(ctx)
	if err != nil {
		_ = ln.Close()
		return err
	}
	if tlsLn != nil {
		s.mu.tlsLn = tlsLn
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.accept(tlsLn)
		}()
		s.log.Info("proxy: listening (amqps)", "addr", tlsLn.Addr().String())
	}
	s.mu.ln, s.mu.started = ln, true
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.topo.follow(s.ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.accept(ln)
	}()
	s.log.Info("proxy: listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the listening address, nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.ln == nil {
		return nil
	}
	return s.mu.ln.Addr()
}

func (s *Server) accept(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("proxy: accept", "err", err)
			sleepCtx(s.ctx, 50*time.Millisecond)
			continue
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.mu.closed {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		s.mu.conns[c] = struct{}{}
		s.connWG.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.connWG.Done()
			c.serve()
			s.mu.Lock()
			delete(s.mu.conns, c)
			s.mu.Unlock()
		}()
	}
}

// shutdownText is RabbitMQ's reply text when the broker stops.
const shutdownText = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"

// Close stops accepting, closes live connections with 320
// CONNECTION_FORCED and waits for every goroutine, or for ctx.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.closed = true
	ln, tlsLn := s.mu.ln, s.mu.tlsLn
	conns := make([]*conn, 0, len(s.mu.conns))
	for c := range s.mu.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var err error
	if ln != nil {
		err = ln.Close()
	}
	if tlsLn != nil {
		_ = tlsLn.Close()
	}
	for _, c := range conns {
		c.forceClose(shutdownText)
	}
	done := make(chan struct{})
	go func() {
		// Connections first: their teardown still talks to meta.
		s.connWG.Wait()
		s.subs.wg.Wait()
		s.cancel()
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.cancel()
		return ctx.Err()
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// connections returns the live connections.
func (s *Server) connections() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.mu.conns))
	for c := range s.mu.conns {
		out = append(out, c)
	}
	return out
}
