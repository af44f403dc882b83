package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
)

// Security configures the amqps listener and RabbitMQ's loopback_users.
// It is embedded in Config.
type Security struct {
	// AMQPSAddr is the amqps (AMQP over TLS) listen address, e.g. ":5671";
	// empty disables the listener. TLSCertFile and TLSKeyFile (PEM) are
	// then required.
	AMQPSAddr   string
	TLSCertFile string
	TLSKeyFile  string
	// LoopbackUsers may log in only from a loopback address, as RabbitMQ's
	// loopback_users; nil means DefaultLoopbackUsers, an empty non-nil
	// slice lets every user connect from anywhere.
	LoopbackUsers []string
}

// DefaultLoopbackUsers is RabbitMQ's default loopback_users.
var DefaultLoopbackUsers = []string{"guest"}

// tlsListen listens on the amqps address when one is configured; it
// returns a nil listener otherwise.
func (s *Server) tlsListen(ctx context.Context) (net.Listener, error) {
	if s.cfg.AMQPSAddr == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("proxy: tls certificate: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.AMQPSAddr)
	if err != nil {
		return nil, fmt.Errorf("proxy: listen amqps: %w", err)
	}
	return tls.NewListener(ln, &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}), nil
}

// TLSAddr is the amqps listening address, nil before Start or when amqps
// is off.
func (s *Server) TLSAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.tlsLn == nil {
		return nil
	}
	return s.mu.tlsLn.Addr()
}

// loopbackOnly reports whether user may log in only from loopback.
func (s *Server) loopbackOnly(user string) bool {
	users := s.cfg.LoopbackUsers
	if users == nil {
		users = DefaultLoopbackUsers
	}
	return slices.Contains(users, user)
}

// loginAllowed reports whether user may log in from peer: a loopback-only
// user must come from 127.0.0.0/8 or ::1 (IPv4-mapped included).
func (s *Server) loginAllowed(user string, peer net.Addr) bool {
	if !s.loopbackOnly(user) {
		return true
	}
	return isLoopbackAddr(peer)
}

func isLoopbackAddr(a net.Addr) bool {
	var ip net.IP
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.IP
	default:
		if a == nil {
			return false
		}
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return false
		}
		ip = net.ParseIP(host)
	}
	return ip != nil && ip.IsLoopback()
}
