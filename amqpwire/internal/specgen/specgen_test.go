package specgen

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoName(t *testing.T) {
	for give, want := range map[string]string{
		"consumer-tag": "ConsumerTag", "message-id": "MessageID", "update-secret-ok": "UpdateSecretOk",
		"x": "X", "app-id": "AppID",
	} {
		assert.Equal(t, want, goName(give), give)
	}
	assert.Equal(t, "FailedClassID", fieldGoName("class-id"))
	assert.Equal(t, "NoWait", fieldGoName("nowait"))
}

func TestBitsShareOctetsOfEight(t *testing.T) {
	var fields []Field
	for i := range 10 {
		fields = append(fields, Field{Name: string(rune('a' + i)), Type: "bit"})
	}
	fields = append(fields[:3], append([]Field{{Name: "s", Type: "short"}}, fields[3:]...)...)
	got := ops(fields)
	// 3 bits, a short, then 7 bits: the short breaks the run.
	require.Len(t, got, 3)
	assert.Len(t, got[0].Bits, 3)
	assert.Equal(t, "s", got[1].Field.Name)
	assert.Len(t, got[2].Bits, 7)

	many := make([]Field, 9)
	for i := range many {
		many[i] = Field{Type: "bit"}
	}
	got = ops(many)
	require.Len(t, got, 2)
	assert.Len(t, got[0].Bits, 8)
	assert.Len(t, got[1].Bits, 1)
}

func TestGenerateRejectsUnknownTypes(t *testing.T) {
	_, err := Generate([]byte(`<amqp><class name="c" index="1"><method name="m" index="1">
		<field name="f" type="float"/></method></class></amqp>`))
	require.ErrorIs(t, err, ErrSpec)
	_, err = Generate([]byte(`<amqp`))
	require.ErrorIs(t, err, ErrSpec)
}

func TestGenerateSmallSpec(t *testing.T) {
	src, err := Generate([]byte(`<amqp><constant name="frame-end" value="206"/>
		<domain name="flag" type="bit"/>
		<class name="demo" index="7"><method name="do-it" index="3" synchronous="1">
		<response name="done"/><field name="a" domain="flag"/><field name="reserved-1" type="bit" reserved="1"/>
		<field name="b" domain="flag"/></method></class></amqp>`))
	require.NoError(t, err)
	s := string(src)
	assert.Contains(t, s, "type DemoDoIt struct")
	assert.Contains(t, s, "FrameEnd = 206")
	assert.Contains(t, s, "bits |= 1 << 2") // b after the reserved bit
	assert.Contains(t, s, "m.B = bits&(1<<2) != 0")
	assert.True(t, strings.Contains(s, "func (*DemoDoIt) Synchronous() bool { return true }"))
}
