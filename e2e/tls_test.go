package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	mathbig "math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// amqps, run against both brokers: a spawned warren serves a self-signed
// certificate made by TestMain; RabbitMQ serves the one scripts/test.sh
// made, its URL and CA given as WARREN_E2E_AMQPS_URL and WARREN_E2E_TLS_CA.

// tlsFiles are the PEM files of a self-signed server certificate, which is
// its own CA.
type tlsFiles struct {
	cert, key string
}

// selfSigned makes a CA certificate valid for 127.0.0.1 and localhost and
// its key. RSA, as scripts/test.sh's certificate for RabbitMQ, so both
// brokers can negotiate the same TLS 1.2 suites.
func selfSigned(cn string) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(mathbig.Int).Lsh(mathbig.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeSelfSigned writes a selfSigned certificate and key into dir.
func writeSelfSigned(dir string) (tlsFiles, error) {
	certPEM, keyPEM, err := selfSigned("warren e2e")
	if err != nil {
		return tlsFiles{}, err
	}
	f := tlsFiles{cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
	if err := os.WriteFile(f.cert, certPEM, 0o644); err != nil {
		return tlsFiles{}, err
	}
	if err := os.WriteFile(f.key, keyPEM, 0o600); err != nil {
		return tlsFiles{}, err
	}
	return f, nil
}

// tlsConfig trusts the broker's CA and nothing else; each dial needs its
// own (amqp091-go fills in ServerName).
func (b *broker) tlsConfig() *tls.Config {
	b.t.Helper()
	require.NotEmpty(b.t, b.AMQPSURL, "the amqps URL (WARREN_E2E_AMQPS_URL; scripts/test.sh sets it)")
	require.NotEmpty(b.t, b.TLSCAFile, "the amqps CA file (WARREN_E2E_TLS_CA; scripts/test.sh sets it)")
	caPEM, err := os.ReadFile(b.TLSCAFile)
	require.NoError(b.t, err)
	pool := x509.NewCertPool()
	require.True(b.t, pool.AppendCertsFromPEM(caPEM), "no certificate in %s", b.TLSCAFile)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// dialTLS opens an amqps connection closed at cleanup.
func (b *broker) dialTLS(cfg *tls.Config, props amqp.Table) *amqp.Connection {
	b.t.Helper()
	c, err := amqp.DialConfig(b.AMQPSURL, amqp.Config{
		TLSClientConfig: cfg, Properties: props, Dial: amqp.DefaultDial(10 * time.Second),
	})
	require.NoError(b.t, err)
	b.t.Cleanup(func() { c.Close() })
	return c
}

// TestTLSRoundTrip publishes with confirms over amqps, a message larger
// than frame_max among them, and consumes them back on the same verified
// connection.
func TestTLSRoundTrip(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dialTLS(b.tlsConfig(), nil)
	st := conn.ConnectionState()
	require.True(t, st.HandshakeComplete)
	require.NotEmpty(t, st.VerifiedChains, "the server certificate was verified against the CA")

	ch := freshChannel(t, conn)
	q := declareQueue(t, b, ch, "q", nil)
	large := bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16)
	msgs := []amqp.Publishing{body("small"), {Body: large, DeliveryMode: amqp.Persistent}}
	publishConfirmedKeys(t, ch, "", []string{q, q}, msgs...)

	deliveries, err := ch.ConsumeWithContext(ctx(t), q, "", false, false, false, false, nil)
	require.NoError(t, err)
	for i, want := range [][]byte{[]byte("small"), large} {
		select {
		case d := <-deliveries:
			require.Equal(t, want, d.Body, "message %d", i)
			require.NoError(t, d.Ack(false))
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d not delivered over amqps", i)
		}
	}
	require.NoError(t, conn.Close())
}

// TestTLSPortRefusesPlainAMQP: a plain AMQP client on the amqps port gets an
// error promptly (no hang until its timeout), and the listener still
// serves TLS clients afterwards.
func TestTLSPortRefusesPlainAMQP(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	u, err := url.Parse(b.AMQPSURL)
	require.NoError(t, err)
	u.Scheme = "amqp"
	const timeout = 10 * time.Second
	start := time.Now()
	c, err := amqp.DialConfig(u.String(), amqp.Config{Dial: amqp.DefaultDial(timeout)})
	if c != nil {
		c.Close()
	}
	require.Error(t, err)
	t.Logf("plain AMQP on the amqps port: %v", err)
	assert.Less(t, time.Since(start), timeout/2, "the failure came from the timeout, not the server")

	b.dialTLS(b.tlsConfig(), nil)
}

// TestTLSUntrustedCertificate: a client that trusts another CA, or expects
// another host name, refuses the server's certificate.
func TestTLSUntrustedCertificate(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	otherPEM, _, err := selfSigned("another CA")
	require.NoError(t, err)
	other := x509.NewCertPool()
	require.True(t, other.AppendCertsFromPEM(otherPEM))

	t.Run("other CA", func(t *testing.T) {
		_, err := amqp.DialTLS(b.AMQPSURL, &tls.Config{RootCAs: other, MinVersion: tls.VersionTLS12})
		var verr *tls.CertificateVerificationError
		require.ErrorAs(t, err, &verr)
		var unknown x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &unknown)
	})
	t.Run("other host name", func(t *testing.T) {
		cfg := b.tlsConfig()
		cfg.ServerName = "broker.invalid"
		_, err := amqp.DialTLS(b.AMQPSURL, cfg)
		var host x509.HostnameError
		require.ErrorAs(t, err, &host)
	})
	b.dialTLS(b.tlsConfig(), nil) // the refusals left the listener serving
}

// apiConnSSL is the TLS part of a GET /api/connections entry.
type apiConnSSL struct {
	UserProvidedName string  `json:"user_provided_name"`
	Port             int     `json:"port"`
	SSL              bool    `json:"ssl"`
	Protocol         *string `json:"ssl_protocol"`
	KeyExchange      *string `json:"ssl_key_exchange"`
	Cipher           *string `json:"ssl_cipher"`
	Hash             *string `json:"ssl_hash"`
	PeerCertSubject  *string `json:"peer_cert_subject"`
}

// findConnSSL waits for the admin API to list the connection named name
// (RabbitMQ lists a connection once its first statistics are out).
func findConnSSL(t *testing.T, b *broker, name string) apiConnSSL {
	t.Helper()
	var found *apiConnSSL
	require.Eventually(t, func() bool {
		status, raw := api(t, b, http.MethodGet, "/api/connections", nil)
		require.Equal(t, http.StatusOK, status, "%s", raw)
		var conns []apiConnSSL
		require.NoError(t, json.Unmarshal(raw, &conns))
		for i := range conns {
			if conns[i].UserProvidedName == name {
				found = &conns[i]
				return true
			}
		}
		return false
	}, 20*time.Second, 200*time.Millisecond, "connection %s not listed", name)
	return *found
}

func namedProps(name string) amqp.Table {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(name)
	return props
}

// TestTLSConnectionsInAdminAPI: /api/connections marks amqps connections
// "ssl": true with the session's protocol and suite in RabbitMQ's spelling,
// and plain ones "ssl": false with those fields null.
func TestTLSConnectionsInAdminAPI(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	require.NotEmpty(t, b.HTTP, "the admin API address (WARREN_E2E_HTTP)")
	u, err := url.Parse(b.AMQPSURL)
	require.NoError(t, err)

	tls12 := b.tlsConfig()
	tls12.MaxVersion = tls.VersionTLS12
	tls12.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	n12, n13, nPlain := uniqueName(t, "tls12"), uniqueName(t, "tls13"), uniqueName(t, "plain")
	b.dialTLS(tls12, namedProps(n12))
	b.dialTLS(b.tlsConfig(), namedProps(n13))
	plain, err := amqp.DialConfig(b.URL, amqp.Config{Properties: namedProps(nPlain)})
	require.NoError(t, err)
	defer plain.Close()

	str := func(s string) *string { return &s }
	got12 := findConnSSL(t, b, n12)
	assert.Equal(t, apiConnSSL{
		UserProvidedName: n12, Port: got12.Port, SSL: true,
		Protocol: str("tlsv1.2"), KeyExchange: str("ecdhe_rsa"), Cipher: str("aes_128_gcm"), Hash: str("aead"),
	}, got12)
	assert.Equal(t, u.Port(), strconv.Itoa(got12.Port), "port is the amqps listener's")

	got13 := findConnSSL(t, b, n13)
	assert.True(t, got13.SSL)
	assert.Equal(t, str("tlsv1.3"), got13.Protocol)
	assert.Equal(t, str("any"), got13.KeyExchange, "TLS 1.3 suites name no key exchange")
	assert.Equal(t, str("aead"), got13.Hash)
	assert.NotNil(t, got13.Cipher)
	assert.Nil(t, got13.PeerCertSubject, "no client certificate was asked for")

	gotPlain := findConnSSL(t, b, nPlain)
	assert.Equal(t, apiConnSSL{UserProvidedName: nPlain, Port: gotPlain.Port}, gotPlain)
}
