package proxy

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
)

func TestRefuseDuringCommit(t *testing.T) {
	committing := &txState{}
	committing.committing.Store(true)
	for _, tt := range []struct {
		name     string
		give     *txState
		cls, mth uint16
		refused  bool
	}{
		{"no transaction", nil, amqpwire.ClassQueue, 10, false},
		{"transaction at rest", &txState{}, amqpwire.ClassQueue, 10, false},
		{"queue.declare during commit", committing, amqpwire.ClassQueue, 10, true},
		{"basic.publish during commit", committing, amqpwire.ClassBasic, methodBasicPublish, true},
		{"tx.commit during commit", committing, amqpwire.ClassTx, 20, true},
		{"channel.close during commit", committing, amqpwire.ClassChannel, methodChannelClose, false},
		{"channel.close-ok during commit", committing, amqpwire.ClassChannel, methodChannelCloseOk, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch := &channel{tx: tt.give}
			err := ch.refuseDuringCommit(tt.cls, tt.mth)
			if !tt.refused {
				require.NoError(t, err)
				return
			}
			var pe *protoError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, uint16(amqpwire.ChannelError), pe.code)
			assert.True(t, pe.hard(), "504 closes the connection")
			assert.Equal(t, "CHANNEL_ERROR - unexpected command while processing 'tx.commit'", pe.text)
			assert.Equal(t, [2]uint16{tt.cls, tt.mth}, [2]uint16{pe.classID, pe.methodID})
		})
	}
}

// TestTxAcksAreHeld: an ack in a transaction reserves its deliveries, so a
// second ack of the same tag is 406; a rollback hands them back.
func TestTxAcksAreHeld(t *testing.T) {
	ts := startServer(t)
	conn, ch := ts.channel(t)
	_, err := ch.QueueDeclare("held", false, false, false, false, nil)
	require.NoError(t, err)
	for _, b := range []string{"a", "b", "c"} {
		require.NoError(t, ch.Publish("", "held", false, false, amqp.Publishing{Body: []byte(b)}))
	}
	require.NoError(t, ch.Tx())
	var tags []uint64
	for range 3 {
		d, ok, err := ch.Get("held", false)
		require.NoError(t, err)
		require.True(t, ok)
		tags = append(tags, d.DeliveryTag)
	}
	require.NoError(t, ch.Ack(tags[1], true)) // a and b
	require.NoError(t, ch.TxRollback())
	require.NoError(t, ch.Ack(tags[0], false)) // a again: back after the rollback
	require.NoError(t, ch.Ack(tags[2], true))  // b and c
	require.NoError(t, ch.TxCommit())
	st, _ := ts.QueueStats("/", "held")
	assert.Zero(t, st.Unacked)
	assert.Zero(t, st.Ready)

	ch, err = conn.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.Tx())
	require.NoError(t, ch.Publish("", "held", false, false, amqp.Publishing{Body: []byte("d")}))
	require.NoError(t, ch.TxCommit())
	d, ok, err := ch.Get("held", false)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, ch.Ack(d.DeliveryTag, false))
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	require.NoError(t, ch.Ack(d.DeliveryTag, false))
	select {
	case err := <-closed:
		requireAMQPError(t, err, 406, "PRECONDITION_FAILED - unknown delivery tag 1")
	case <-time.After(5 * time.Second):
		t.Fatal("a second ack of the same tag was taken")
	}
}

// TestTxPartialCommit: a publish refused by a reject-publish queue fails
// the commit; what was taken stays.
func TestTxPartialCommit(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("full", false, false, false, false, amqp.Table{"x-max-length": 1, "x-overflow": "reject-publish"})
	require.NoError(t, err)
	require.NoError(t, ch.Tx())
	require.NoError(t, ch.Publish("", "full", false, false, amqp.Publishing{Body: []byte("taken")}))
	require.NoError(t, ch.Publish("", "full", false, false, amqp.Publishing{Body: []byte("refused")}))
	requireAMQPError(t, ch.TxCommit(), 406, "PRECONDITION_FAILED - partial tx completion")
	st, _ := ts.QueueStats("/", "full")
	assert.Equal(t, uint64(1), st.Ready)
}
