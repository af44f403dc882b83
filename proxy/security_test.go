package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key as
// PEM files and returns their paths and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "warren-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestAMQPSListener(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	ts := startServer(t, func(c *Config) {
		c.AMQPSAddr, c.TLSCertFile, c.TLSKeyFile = "127.0.0.1:0", certFile, keyFile
	})
	require.NotNil(t, ts.TLSAddr())
	conn, err := amqp.DialTLS("amqps://guest:guest@"+ts.TLSAddr().String()+"/", &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Publish("", q.Name, false, false, amqp.Publishing{Body: []byte("over tls")}))
	require.Eventually(t, func() bool {
		d, ok, err := ch.Get(q.Name, true)
		return err == nil && ok && string(d.Body) == "over tls"
	}, 5*time.Second, 10*time.Millisecond)

	// The plain listener still serves, and a client that does not trust
	// the certificate is refused by TLS itself.
	ts.dial(t)
	_, err = amqp.DialTLS("amqps://guest:guest@"+ts.TLSAddr().String()+"/", &tls.Config{MinVersion: tls.VersionTLS12})
	require.Error(t, err)
}

func TestAMQPSNeedsAKeyPair(t *testing.T) {
	ts := startServer(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	s, err := New(Config{AMQPAddr: "127.0.0.1:0", Security: Security{AMQPSAddr: "127.0.0.1:0",
		TLSCertFile: missing, TLSKeyFile: missing}}, ts.st, ts.md)
	require.NoError(t, err)
	err = s.Start(t.Context())
	require.ErrorContains(t, err, "tls certificate")
	require.NoError(t, s.Close(t.Context()))
}

func TestLoginAllowed(t *testing.T) {
	lo4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	lo8 := &net.TCPAddr{IP: net.IPv4(127, 1, 2, 3), Port: 1}
	lo6 := &net.TCPAddr{IP: net.IPv6loopback, Port: 1}
	remote := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 1}
	tests := []struct {
		name  string
		users []string
		user  string
		peer  net.Addr
		want  bool
	}{
		{"guest from 127.0.0.1 by default", nil, "guest", lo4, true},
		{"guest from 127/8 by default", nil, "guest", lo8, true},
		{"guest from ::1 by default", nil, "guest", lo6, true},
		{"guest from a remote address by default", nil, "guest", remote, false},
		{"another user from a remote address", nil, "alice", remote, true},
		{"empty list lets guest in from anywhere", []string{}, "guest", remote, true},
		{"configured list", []string{"alice"}, "alice", remote, false},
		{"configured list frees guest", []string{"alice"}, "guest", remote, true},
		{"no peer address", nil, "guest", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{cfg: Config{Security: Security{LoopbackUsers: tt.users}}}
			assert.Equal(t, tt.want, s.loginAllowed(tt.user, tt.peer))
		})
	}
}

// nonLoopbackIP returns a local non-loopback IPv4 address, if any.
func nonLoopbackIP(t *testing.T) net.IP {
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			return n.IP
		}
	}
	return nil
}

func TestGuestOnlyFromLoopback(t *testing.T) {
	ip := nonLoopbackIP(t)
	if ip == nil {
		t.Skip("no non-loopback local address; TestLoginAllowed covers the decision")
	}
	listen := net.JoinHostPort(ip.String(), "0")
	ts := startServer(t, func(c *Config) { c.AMQPAddr = listen })
	url := "amqp://guest:guest@" + ts.Addr().String() + "/"

	// amqp091-go does not announce authentication_failure_close: the socket
	// is closed, as for a bad password, and the client reports 403.
	_, err := amqp.Dial(url)
	requireAMQPError(t, err, 403, "")

	// A client announcing it gets RabbitMQ's close.
	rc := dialRawAddr(t, ts.Addr().String())
	m := rc.open("guest", true)
	cl, ok := m.(*amqpwire.ConnectionClose)
	require.True(t, ok, "got %s", m.Name())
	require.Equal(t, uint16(403), cl.ReplyCode)
	require.Equal(t, "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.", cl.ReplyText)

	// Without it, the socket is closed.
	rc = dialRawAddr(t, ts.Addr().String())
	rc.write([]byte(amqpwire.ProtocolHeader))
	_, ok = rc.next().(*amqpwire.ConnectionStart)
	require.True(t, ok)
	rc.method(0, &amqpwire.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
	_, err = rc.r.ReadFrame()
	require.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "got %v", err)

	// An empty loopback_users lets guest in from anywhere.
	open := startServer(t, func(c *Config) { c.AMQPAddr, c.LoopbackUsers = listen, []string{} })
	c, err := amqp.Dial("amqp://guest:guest@" + open.Addr().String() + "/")
	require.NoError(t, err)
	require.NoError(t, c.Close())
}

func dialRawAddr(t *testing.T, addr string) *rawConn {
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	r := amqpwire.NewFrameReader(nc)
	r.SetFrameMax(0)
	return &rawConn{t: t, nc: nc, r: r}
}
