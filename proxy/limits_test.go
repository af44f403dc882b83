package proxy

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/mapping"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// A body of exactly MaxMessageSize, with the longest routing key and large
// headers, fits a store whose record limit leaves StoreRecordAllowance; one
// byte more is refused with 406 as RabbitMQ refuses it.
func TestBodyOfExactlyTheLimit(t *testing.T) {
	const limit = 64 << 10
	dir := t.TempDir()
	md, err := meta.Open(meta.Options{Path: filepath.Join(dir, "meta.db")})
	require.NoError(t, err)
	st, err := store.Open(store.Options{
		Dir: filepath.Join(dir, "store"), Flush: store.Sync, CompileFilter: mapping.CompileFilter,
		MaxMessageSize: limit + StoreRecordAllowance,
	})
	require.NoError(t, err)
	ts := startWith(t, md, st, func(c *Config) { c.MaxMessageSize = limit })
	c, ch := ts.channel(t)
	name := strings.Repeat("q", 255)
	_, err = ch.QueueDeclare(name, false, false, false, false, nil)
	require.NoError(t, err)

	body := bytes.Repeat([]byte{'b'}, limit)
	headers := amqp.Table{"big": strings.Repeat("h", 100<<10)}
	require.NoError(t, ch.Publish("", name, false, false, amqp.Publishing{Headers: headers, Body: body}))
	var got amqp.Delivery
	require.Eventually(t, func() bool {
		d, ok, err := ch.Get(name, true)
		got = d
		return err == nil && ok
	}, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, body, got.Body)
	require.Equal(t, headers["big"], got.Headers["big"])

	e := closeReason(t, ch, func() error {
		return ch.Publish("", name, false, false, amqp.Publishing{Body: append(body, 'x')})
	})
	require.Equal(t, 406, e.Code)
	require.Equal(t, "PRECONDITION_FAILED - message size 65537 is larger than configured max size 65536", e.Reason)
	require.False(t, c.IsClosed(), "a body over the limit closes the channel only")
}
