package proxy

import (
	"crypto/tls"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCipherSuiteParts(t *testing.T) {
	tests := []struct {
		give                 uint16
		wantKx, wantC, wantH string
	}{
		{tls.TLS_AES_128_GCM_SHA256, "any", "aes_128_gcm", "aead"},
		{tls.TLS_AES_256_GCM_SHA384, "any", "aes_256_gcm", "aead"},
		{tls.TLS_CHACHA20_POLY1305_SHA256, "any", "chacha20_poly1305", "aead"},
		{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ecdhe_rsa", "aes_128_gcm", "aead"},
		{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ecdhe_ecdsa", "chacha20_poly1305", "aead"},
		{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ecdhe_rsa", "aes_256_cbc", "sha"},
		{tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "rsa", "aes_128_cbc", "sha256"},
	}
	for _, tt := range tests {
		name := tls.CipherSuiteName(tt.give)
		t.Run(name, func(t *testing.T) {
			kx, c, h := cipherSuiteParts(name)
			assert.Equal(t, []string{tt.wantKx, tt.wantC, tt.wantH}, []string{kx, c, h})
		})
	}
}

func TestTLSVersionName(t *testing.T) {
	assert.Equal(t, "tlsv1.3", tlsVersionName(tls.VersionTLS13))
	assert.Equal(t, "tlsv1.2", tlsVersionName(tls.VersionTLS12))
}
