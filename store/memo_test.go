package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMemoLRU(t *testing.T) {
	var m memo
	_, ok := m.get(7)
	require.False(t, ok)
	// Five tags in one set: the least recently used one is evicted.
	tags := []uint64{1, 1 + memoSets, 1 + 2*memoSets, 1 + 3*memoSets, 1 + 4*memoSets}
	for i, tag := range tags[:4] {
		m.put(tag, i%2 == 0)
	}
	v, ok := m.get(tags[0]) // touch: now most recent
	require.True(t, ok)
	require.True(t, v)
	m.put(tags[4], true)
	_, ok = m.get(tags[1])
	require.False(t, ok, "the least recently used tag stays")
	for _, tag := range []uint64{tags[0], tags[2], tags[3], tags[4]} {
		_, ok := m.get(tag)
		require.True(t, ok)
	}
	v, _ = m.get(tags[3])
	require.False(t, v)
}

func TestKeyHashSeeded(t *testing.T) {
	require.Equal(t, keyHash(1, []byte("a.b.c")), keyHash(1, []byte("a.b.c")))
	require.NotEqual(t, keyHash(1, []byte("a.b.c")), keyHash(2, []byte("a.b.c")))
	require.NotEqual(t, keyHash(1, []byte("a.b.c")), keyHash(1, []byte("a.b.d")))
	require.NotEqual(t, keyHash(1, []byte("")), keyHash(1, []byte{0}))
	require.NotEqual(t, keyHash(1, []byte("12345678")), keyHash(1, []byte("123456789")))
}
