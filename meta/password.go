package meta

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
)

// Password hashing algorithms, named as RabbitMQ names them in definitions.
// A hash is base64(salt ‖ H(salt ‖ password)) with a 4-byte random salt.
const (
	HashSHA256 = "rabbit_password_hashing_sha256"
	HashSHA512 = "rabbit_password_hashing_sha512"
	HashMD5    = "rabbit_password_hashing_md5" // exports from RabbitMQ < 3.6
)

const saltLen = 4

// loginRefused is the text Authenticate fails with; the proxy may word its
// own reply.
const loginRefused = "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile."

func hasherFor(algorithm string) func() hash.Hash {
	switch algorithm {
	case HashSHA256, "":
		return sha256.New
	case HashSHA512:
		return sha512.New
	case HashMD5:
		return md5.New
	}
	return nil
}

func saltedHash(newHash func() hash.Hash, salt []byte, password string) []byte {
	h := newHash()
	h.Write(salt)
	h.Write([]byte(password))
	return h.Sum(append([]byte(nil), salt...))
}

// HashPassword encodes password with a fresh salt for HashSHA256.
func HashPassword(password string) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.StdEncoding.EncodeToString(saltedHash(sha256.New, salt, password))
}

// CheckPassword reports whether password matches u's hash. A user without a
// hash cannot log in with a password.
func CheckPassword(u *User, password string) bool {
	newHash := hasherFor(u.HashingAlgorithm)
	if newHash == nil || u.PasswordHash == "" {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(u.PasswordHash)
	if err != nil || len(raw) <= saltLen {
		return false
	}
	want := saltedHash(newHash, raw[:saltLen], password)
	return subtle.ConstantTimeCompare(raw, want) == 1
}

// Authenticate checks user's password and returns the user; unknown users
// and wrong passwords get the same 403.
func (db *DB) Authenticate(ctx context.Context, user, password string) (*User, error) {
	db.mu.RLock()
	u, ok := db.mu.st.users[user]
	closed := db.mu.closed
	db.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if !ok || !CheckPassword(u, password) {
		return nil, &Error{Code: CodeAccessRefused, Text: loginRefused}
	}
	out := cloneUser(*u)
	return &out, nil
}
