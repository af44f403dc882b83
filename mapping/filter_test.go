package mapping

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/mapping/internal/golden"
	"github.com/warren-mq/warren/store"
)

// CompileFilter must fit the store's hook.
var _ func([]byte) (store.Filter, error) = CompileFilter

func TestKeyFilters(t *testing.T) {
	tests := []struct {
		kind Kind
		key  string
		give string
		want bool
	}{
		{kind: KindDirect, key: "a.b", give: "a.b", want: true},
		{kind: KindDirect, key: "a.b", give: "a.b.", want: false},
		{kind: KindDirect, key: "", give: "", want: true},
		{kind: KindDirect, key: "a.*", give: "a.b", want: false},
		{kind: KindDirect, key: "#", give: "x", want: false},
		{kind: KindFanout, key: "a", give: "b", want: true},
		{kind: KindFanout, key: "", give: "", want: true},
		{kind: KindTopic, key: "a.#", give: "a", want: true},
		{kind: KindTopic, key: "a.*", give: "a", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String()+"|"+tt.key+"|"+tt.give, func(t *testing.T) {
			f, err := NewFilter(tt.kind, tt.key, amqpwire.Table{"x-ignored": "yes"})
			require.NoError(t, err)
			assert.Equal(t, tt.kind, f.Kind())
			assert.False(t, f.NeedsProperties())
			assert.Equal(t, tt.want, f.Match([]byte(tt.give), nil))

			back, err := CompileFilter(f.Spec())
			require.NoError(t, err)
			assert.Equal(t, tt.want, back.Match([]byte(tt.give), nil))
			assert.Equal(t, f.Spec(), back.(Filter).Spec())
		})
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range []Kind{KindDirect, KindFanout, KindTopic, KindHeaders} {
		got, err := ParseKind(k.String())
		require.NoError(t, err)
		assert.Equal(t, k, got)
	}
	for _, bad := range []string{"", "Direct", "x-consistent-hash", "path"} {
		_, err := ParseKind(bad)
		assert.ErrorIs(t, err, ErrUnknownKind, bad)
	}
	_, err := NewFilterRaw(Kind('z'), "", nil)
	assert.ErrorIs(t, err, ErrUnknownKind)
}

func TestSpecLayout(t *testing.T) {
	f, err := NewFilter(KindTopic, "a.#", nil)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 't', 3, 'a', '.', '#'}, f.Spec())

	h, err := NewFilter(KindHeaders, "k", amqpwire.Table{"b": "2", "a": int32(1)})
	require.NoError(t, err)
	want := []byte{1, 'h', 1, 'k'}
	want = golden.AppendTable(want, []golden.Field{golden.F("a", golden.I32(1)), golden.F("b", golden.Str("2"))})
	assert.Equal(t, want, h.Spec(), "arguments sorted by key")

	empty, err := NewFilter(KindHeaders, "", nil)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 'h', 0, 0, 0, 0, 0}, empty.Spec())
}

func TestHeadersSpecRoundTrip(t *testing.T) {
	msgs := golden.HeaderMessages
	for _, b := range golden.HeaderBindings {
		f, err := NewFilter(KindHeaders, "", toWire(b.Fields))
		require.NoError(t, err, b.Name)
		back, err := CompileFilter(f.Spec())
		require.NoError(t, err, b.Name)
		assert.Equal(t, f.NeedsProperties(), back.NeedsProperties(), b.Name)
		for _, m := range msgs {
			props := messageProps(m)
			assert.Equal(t, f.Match(nil, props), back.Match(nil, props), "%s / %s", b.Name, m.Name)
		}
	}
}

func TestPath(t *testing.T) {
	topic, err := NewFilter(KindTopic, "a.#", nil)
	require.NoError(t, err)
	direct, err := NewFilter(KindDirect, "a.b", nil)
	require.NoError(t, err)
	headers, err := NewFilter(KindHeaders, "", amqpwire.Table{"h": "1"})
	require.NoError(t, err)

	p := Path(topic, Path(direct, headers))
	assert.Equal(t, KindPath, p.Kind())
	assert.True(t, p.NeedsProperties())
	with := propsWithHeaders([]golden.Field{golden.F("h", golden.Str("1"))})
	without := propsWithoutHeaders()
	assert.True(t, p.Match([]byte("a.b"), with))
	assert.False(t, p.Match([]byte("a.b"), without))
	assert.False(t, p.Match([]byte("a.c"), with))

	back, err := DecodeFilter(p.Spec())
	require.NoError(t, err)
	assert.Equal(t, p.Spec(), back.Spec())
	assert.True(t, back.Match([]byte("a.b"), with))
	assert.False(t, back.Match([]byte("a.c"), with))
	assert.Len(t, back.(*pathFilter).hops, 3, "nested paths are flattened")

	keyOnly := Path(topic, direct)
	assert.False(t, keyOnly.NeedsProperties())
}

func TestCompileFilterRejects(t *testing.T) {
	good, err := NewFilter(KindHeaders, "k", amqpwire.Table{"a": "1"})
	require.NoError(t, err)
	spec := good.Spec()
	tests := []struct {
		name string
		give []byte
	}{
		{name: "empty", give: nil},
		{name: "version", give: []byte{2, 'd', 0}},
		{name: "no key length", give: []byte{1, 'd'}},
		{name: "key past end", give: []byte{1, 'd', 5, 'a'}},
		{name: "trailing bytes", give: []byte{1, 't', 1, 'a', 0}},
		{name: "headers without table", give: []byte{1, 'h', 0}},
		{name: "truncated table", give: spec[:len(spec)-1]},
		{name: "table length lies", give: append(append([]byte{}, spec...), 0)},
		{name: "bad table tag", give: []byte{1, 'h', 0, 0, 0, 0, 4, 1, 'a', 'Z', 0}},
		{name: "path count past end", give: []byte{1, 'p', 9}},
		{name: "nested path", give: []byte{1, 'p', 1, 3, 1, 'p', 0}},
		{name: "path trailing", give: []byte{1, 'p', 0, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompileFilter(tt.give)
			assert.ErrorIs(t, err, ErrBadSpec)
		})
	}
	_, err = CompileFilter([]byte{1, 'q', 0})
	assert.ErrorIs(t, err, ErrUnknownKind)
}

// FuzzCompileFilter feeds arbitrary specs: no panic, and whatever compiles
// re-encodes to the same spec.
//
//	go test ./mapping -run '^$' -fuzz FuzzCompileFilter -fuzztime 2m
func FuzzCompileFilter(f *testing.F) {
	for _, b := range golden.HeaderBindings {
		h, err := NewFilter(KindHeaders, "k", toWire(b.Fields))
		if err == nil {
			f.Add(h.Spec(), "k")
		}
	}
	t1, _ := NewFilter(KindTopic, "a.#.b", nil)
	d1, _ := NewFilter(KindDirect, "a", nil)
	f.Add(Path(t1, d1).Spec(), "a.b")
	f.Fuzz(func(t *testing.T, spec []byte, key string) {
		got, err := DecodeFilter(spec)
		if err != nil {
			return
		}
		require.Equal(t, spec, got.Spec())
		got.Match([]byte(key), spec)
	})
}
