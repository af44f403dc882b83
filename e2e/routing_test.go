package e2e

import (
	"bufio"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// topicRow is one row of mapping/testdata/topic_golden.tsv, recorded from
// RabbitMQ 3.10: whether a queue bound with binding got a message published
// with routing.
type topicRow struct {
	binding, routing string
	match            bool
}

func readTopicGolden(t *testing.T) []topicRow {
	t.Helper()
	f, err := os.Open("../mapping/testdata/topic_golden.tsv")
	require.NoError(t, err)
	defer f.Close()
	var rows []topicRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		require.Len(t, cols, 3, "row %q", line)
		binding, err := strconv.Unquote(cols[0])
		require.NoError(t, err)
		routing, err := strconv.Unquote(cols[1])
		require.NoError(t, err)
		match, err := strconv.ParseBool(cols[2])
		require.NoError(t, err)
		rows = append(rows, topicRow{binding, routing, match})
	}
	require.NoError(t, sc.Err())
	return rows
}

// TestTopicRoutingGoldenTable replays the recorded table through the
// broker: one queue per binding key, one message per routing key, and each
// queue must receive exactly the routing keys the table says match. The
// table is a full cross product, so every (binding, routing) pair is a row.
func TestTopicRoutingGoldenTable(t *testing.T) {
	t.Parallel()
	rows := readTopicGolden(t)
	require.GreaterOrEqual(t, len(rows), 60)
	want := map[string][]string{}
	var routingKeys []string
	seenKey := map[string]bool{}
	for _, r := range rows {
		if _, ok := want[r.binding]; !ok {
			want[r.binding] = []string{}
		}
		if r.match {
			want[r.binding] = append(want[r.binding], r.routing)
		}
		if !seenKey[r.routing] {
			seenKey[r.routing] = true
			routingKeys = append(routingKeys, r.routing)
		}
	}
	require.Equal(t, len(want)*len(routingKeys), len(rows), "the table is a full cross product")

	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeTopic, nil)
	queues := map[string]string{}
	for binding := range want {
		q := declareQueue(t, b, ch, "q", nil)
		require.NoError(t, ch.QueueBind(q, binding, x, false, nil))
		queues[binding] = q
	}
	msgs := make([]amqp.Publishing, len(routingKeys))
	for i, key := range routingKeys {
		msgs[i] = amqp.Publishing{Body: []byte(key)}
	}
	publishConfirmedKeys(t, ch, x, routingKeys, msgs...)

	checked := 0
	for binding, q := range queues {
		exp := append([]string(nil), want[binding]...)
		sort.Strings(exp)
		assert.Equal(t, exp, drainSorted(t, ch, q), "binding key %q", binding)
		checked += len(routingKeys)
	}
	t.Logf("%d (binding key, routing key) rows checked", checked)
}
