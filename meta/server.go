package meta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.uber.org/fx"
)

// HTTPOptions configure the admin HTTP server.
type HTTPOptions struct {
	// Addr is the listen address, e.g. ":15672" (RabbitMQ's port).
	Addr   string
	Logger *slog.Logger
}

// HTTPServer serves a handler (the admin API) on a TCP address.
type HTTPServer struct {
	srv    *http.Server
	cancel context.CancelFunc // ends long polls at Stop
	log    *slog.Logger
	ln     net.Listener
	done   chan error
}

// NewHTTPServer prepares a server for h on opts.Addr; Start listens.
func NewHTTPServer(opts HTTPOptions, h http.Handler) *HTTPServer {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base, cancel := context.WithCancel(context.Background())
	return &HTTPServer{
		srv: &http.Server{Addr: opts.Addr, Handler: h, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			BaseContext: func(net.Listener) context.Context { return base }},
		cancel: cancel,
		log:    log,
	}
}

// Start listens (so a busy port fails here) and serves in the background.
func (s *HTTPServer) Start() error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return fmt.Errorf("meta: admin http listen %s: %w", s.srv.Addr, err)
	}
	s.ln = ln
	s.done = make(chan error, 1)
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	s.log.Info("admin http listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the bound address (useful with port 0).
func (s *HTTPServer) Addr() string {
	if s.ln == nil {
		return s.srv.Addr
	}
	return s.ln.Addr().String()
}

// Stop shuts the server down, waiting for requests (long polls included)
// until ctx ends.
func (s *HTTPServer) Stop(ctx context.Context) error {
	s.cancel()
	if s.done == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	return errors.Join(err, <-s.done)
}

type httpParams struct {
	fx.In
	LC       fx.Lifecycle
	Service  Service
	Options  HTTPOptions
	Sessions Sessions `optional:"true"`
}

// HTTPModule serves the admin API on HTTPOptions.Addr, using the Sessions
// the proxy provides when there is one.
var HTTPModule = fx.Module("meta-http", fx.Provide(startHTTP), fx.Invoke(func(*HTTPServer) {}))

func startHTTP(p httpParams) *HTTPServer {
	s := NewHTTPServer(p.Options, NewAPI(p.Service, p.Sessions, p.Options.Logger))
	p.LC.Append(fx.Hook{
		OnStart: func(context.Context) error { return s.Start() },
		OnStop:  s.Stop,
	})
	return s
}
