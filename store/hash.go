package store

import (
	"encoding/binary"
	"math/bits"
)

// keyHash is the seeded 64-bit hash of a routing key stored in index entries
// and used as the key of the per-group verdict memo. The seed is random per
// namespace (persisted with it), so keys cannot be chosen to collide.
func keyHash(seed uint64, key []byte) uint64 {
	const (
		p1 = 0x9E3779B185EBCA87
		p2 = 0xC2B2AE3D27D4EB4F
	)
	h := seed ^ (uint64(len(key)) * p1)
	for len(key) >= 8 {
		k := binary.LittleEndian.Uint64(key) * p2
		h ^= bits.RotateLeft64(k, 31) * p1
		h = bits.RotateLeft64(h, 27)*p1 + p2
		key = key[8:]
	}
	var last uint64
	for i := len(key) - 1; i >= 0; i-- {
		last = last<<8 | uint64(key[i])
	}
	h ^= bits.RotateLeft64(last*p2, 31) * p1
	return mix64(h)
}

// mix64 is the splitmix64 finalizer.
func mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 27
	h *= 0x94D049BB133111EB
	h ^= h >> 31
	return h
}
