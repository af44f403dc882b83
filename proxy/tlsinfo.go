package proxy

import (
	"crypto/tls"
	"strings"

	"github.com/warren-mq/warren/meta"
)

// tlsInfo describes c's TLS session as RabbitMQ's /api/connections does,
// or returns nil for a plain connection. Only an opened connection is
// asked: tls.Conn.ConnectionState waits for a handshake in progress, which
// a silent client can hold until the handshake timeout.
func tlsInfo(c *conn) *meta.TLSInfo {
	tc, ok := c.nc.(*tls.Conn)
	if !ok || !c.opened.Load() {
		return nil
	}
	st := tc.ConnectionState()
	kx, cipher, hash := cipherSuiteParts(tls.CipherSuiteName(st.CipherSuite))
	return &meta.TLSInfo{Protocol: tlsVersionName(st.Version), KeyExchange: kx, Cipher: cipher, Hash: hash}
}

// tlsVersionName spells a TLS version as Erlang's ssl does ("tlsv1.3").
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "tlsv1.3"
	case tls.VersionTLS12:
		return "tlsv1.2"
	case tls.VersionTLS11:
		return "tlsv1.1"
	case tls.VersionTLS10:
		return "tlsv1"
	}
	return strings.ToLower(tls.VersionName(v))
}

// cipherSuiteParts splits a Go cipher suite name into Erlang's key
// exchange, cipher and MAC names:
//
//	TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 -> ecdhe_rsa, aes_128_gcm, aead
//	TLS_RSA_WITH_AES_128_CBC_SHA          -> rsa, aes_128_cbc, sha
//	TLS_AES_256_GCM_SHA384 (TLS 1.3)      -> any, aes_256_gcm, aead
func cipherSuiteParts(name string) (kx, cipher, hash string) {
	name = strings.ToLower(strings.TrimPrefix(name, "TLS_"))
	kx, rest, found := strings.Cut(name, "_with_")
	if !found {
		kx, rest = "any", name // TLS 1.3 suites name no key exchange
	}
	i := strings.LastIndex(rest, "_")
	if i < 0 {
		return kx, rest, ""
	}
	cipher, hash = rest[:i], rest[i+1:]
	if strings.HasSuffix(cipher, "_gcm") || strings.HasSuffix(cipher, "_poly1305") {
		hash = "aead"
	}
	return kx, cipher, hash
}
