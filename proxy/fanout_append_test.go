package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
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

// commitLogBytes sums the commit-log segment files under dir (the index and
// group-state files are not the commit log).
func commitLogBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Base(filepath.Dir(path)) == "log" && strings.HasSuffix(path, ".log") {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	require.NoError(t, err)
	return total
}

// Fan-out costs one append: a persistent message published to a fanout
// exchange bound to 100 durable queues grows the commit log by one record,
// and every queue still delivers it.
func TestFanoutToHundredQueuesIsOneRecord(t *testing.T) {
	const queues = 100
	dir := t.TempDir()
	md, err := meta.Open(meta.Options{Path: filepath.Join(dir, "meta.db")})
	require.NoError(t, err)
	storeDir := filepath.Join(dir, "store")
	st, err := store.Open(store.Options{Dir: storeDir, Flush: store.Sync, CompileFilter: mapping.CompileFilter})
	require.NoError(t, err)
	ts := startWith(t, md, st)
	_, ch := ts.channel(t)
	require.NoError(t, ch.ExchangeDeclare("fan", "fanout", true, false, false, false, nil))
	for i := 0; i < queues; i++ {
		q := fmt.Sprintf("fan-%d", i)
		_, err := ch.QueueDeclare(q, true, false, false, false, nil)
		require.NoError(t, err)
		require.NoError(t, ch.QueueBind(q, "", "fan", false, nil))
	}
	require.NoError(t, ch.Confirm(false))

	body := bytes.Repeat([]byte{'f'}, 32<<10)
	before := commitLogBytes(t, storeDir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "fan", "", false, false,
		amqp.Publishing{DeliveryMode: amqp.Persistent, Body: body})
	require.NoError(t, err)
	ok, err := dc.WaitContext(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	grown := commitLogBytes(t, storeDir) - before

	require.GreaterOrEqual(t, grown, int64(len(body)), "the record is in the commit log")
	require.Less(t, grown, int64(2*len(body)), "one record, not one per queue (%d bytes for %d queues)", grown, queues)
	for i := 0; i < queues; i++ {
		d, ok, err := ch.Get(fmt.Sprintf("fan-%d", i), true)
		require.NoError(t, err)
		require.True(t, ok, "queue %d got the message", i)
		require.Equal(t, body, d.Body)
	}
}
