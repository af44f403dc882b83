package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// topicQueues is the number of queues of the topic scenario.
const topicQueues = 100

// binding binds queue to the scenario's exchange with key.
type binding struct{ queue, key string }

// topology is what a scenario declares, and deletes when it ends.
type topology struct {
	exchange string // "" is the default exchange
	kind     string
	queues   []string
	bindings []binding
	keys     []string // routing keys producers cycle through
	weights  []int64  // queues each key reaches
}

// plan is a scenario: its topology, whether it pre-fills, what runs in the
// measured phase, and which figure is its headline.
type plan struct {
	topo    topology
	fill    int64
	publish bool
	consume bool
	confirm bool
	unit    string
	lower   bool
	value   func(s *Summary) float64
}

func sendRate(s *Summary) float64    { return s.SendRate }
func receiveRate(s *Summary) float64 { return s.ReceiveRate }
func p99(s *Summary) float64         { return s.P99 }

// makePlan builds cfg's scenario; prefix makes its names unique.
func makePlan(cfg Config, prefix string) plan {
	single := topology{queues: []string{prefix + "-q"}, keys: []string{prefix + "-q"}, weights: []int64{1}}
	switch cfg.Scenario {
	case "publish":
		return plan{topo: single, publish: true, unit: "msg/s published", value: sendRate}
	case "publish-confirm":
		return plan{topo: single, publish: true, confirm: true, unit: "msg/s published", value: sendRate}
	case "consume":
		return plan{topo: single, fill: cfg.Fill, consume: true, unit: "msg/s consumed", value: receiveRate}
	case "backlog":
		return plan{topo: single, fill: cfg.Fill, consume: true, unit: "msg/s consumed from backlog", value: receiveRate}
	case "pubsub":
		if cfg.Rate > 0 {
			return plan{topo: single, publish: true, consume: true, unit: "ms p99 latency", lower: true, value: p99}
		}
		return plan{topo: single, publish: true, consume: true, unit: "msg/s consumed", value: receiveRate}
	case "fanout":
		return plan{topo: fanoutTopology(prefix, cfg.Queues), publish: true, consume: true, unit: "deliveries/s", value: receiveRate}
	default: // "topic"; validate rejects anything else
		return plan{topo: topicTopology(prefix), publish: true, consume: true, unit: "deliveries/s", value: receiveRate}
	}
}

func fanoutTopology(prefix string, n int) topology {
	t := topology{exchange: prefix + "-fanout", kind: "fanout", keys: []string{""}, weights: []int64{int64(n)}}
	for i := range n {
		q := fmt.Sprintf("%s-q%03d", prefix, i)
		t.queues = append(t.queues, q)
		t.bindings = append(t.bindings, binding{queue: q, key: ""})
	}
	return t
}

// topicTopology binds 100 queues to a topic exchange with patterns using *
// and #, and publishes routing keys of one to three words that reach from
// one queue (only "#") to six:
//
//	queues  0-9   a<i>.#         (a.# also matches the one-word key a<i>)
//	queues 10-19  *.b<j>.*
//	queues 20-29  *.*.c<k>
//	queues 30-89  a<i>.b<j>.#    for i < 6
//	queues 90-98  #.c<k>         for k < 9
//	queue  99     #
//
// keys: a<i>.b<j>.c<k> (1000 keys, 4 to 6 queues), a<i>.b<j> (100 keys, 2
// or 3), a<i> (10 keys, 2) and x.y<n> (100 keys, 1).
func topicTopology(prefix string) topology {
	t := topology{exchange: prefix + "-topic", kind: "topic"}
	var patterns []string
	for i := range 10 {
		patterns = append(patterns, fmt.Sprintf("a%d.#", i))
	}
	for j := range 10 {
		patterns = append(patterns, fmt.Sprintf("*.b%d.*", j))
	}
	for k := range 10 {
		patterns = append(patterns, fmt.Sprintf("*.*.c%d", k))
	}
	for i := range 6 {
		for j := range 10 {
			patterns = append(patterns, fmt.Sprintf("a%d.b%d.#", i, j))
		}
	}
	for k := range 9 {
		patterns = append(patterns, fmt.Sprintf("#.c%d", k))
	}
	patterns = append(patterns, "#")
	for i, p := range patterns {
		q := prefix + "-q" + strconv.Itoa(i)
		t.queues = append(t.queues, q)
		t.bindings = append(t.bindings, binding{queue: q, key: p})
	}
	t.keys = topicKeys()
	for _, k := range t.keys {
		var w int64
		for _, p := range patterns {
			if topicMatch(p, k) {
				w++
			}
		}
		t.weights = append(t.weights, w)
	}
	return t
}

// topicMatch is AMQP topic matching: words split on '.', '*' is exactly
// one word, '#' zero or more; the empty key has no words (as in RabbitMQ).
func topicMatch(pattern, key string) bool {
	return matchWords(words(pattern), words(key))
}

func words(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ".")
}

func matchWords(p, k []string) bool {
	if len(p) == 0 {
		return len(k) == 0
	}
	if p[0] == "#" {
		for i := 0; i <= len(k); i++ {
			if matchWords(p[1:], k[i:]) {
				return true
			}
		}
		return false
	}
	if len(k) == 0 || (p[0] != "*" && p[0] != k[0]) {
		return false
	}
	return matchWords(p[1:], k[1:])
}

func topicKeys() []string {
	var keys []string
	for i := range 10 {
		keys = append(keys, fmt.Sprintf("a%d", i))
		for j := range 10 {
			keys = append(keys, fmt.Sprintf("a%d.b%d", i, j), fmt.Sprintf("x.y%d%d", i, j))
			for k := range 10 {
				keys = append(keys, fmt.Sprintf("a%d.b%d.c%d", i, j, k))
			}
		}
	}
	return keys
}

// declare creates t on ch's connection.
func (t topology) declare(c *conn, durable bool) error {
	ch, err := c.Channel()
	if err != nil {
		return fmt.Errorf("%w: declare channel: %w", ErrBroker, err)
	}
	defer ch.Close()
	if t.exchange != "" {
		if err := ch.ExchangeDeclare(t.exchange, t.kind, durable, false, false, false, nil); err != nil {
			return fmt.Errorf("%w: exchange.declare %s: %w", ErrBroker, t.exchange, err)
		}
	}
	for _, q := range t.queues {
		if _, err := ch.QueueDeclare(q, durable, false, false, false, nil); err != nil {
			return fmt.Errorf("%w: queue.declare %s: %w", ErrBroker, q, err)
		}
	}
	for _, b := range t.bindings {
		if err := ch.QueueBind(b.queue, b.key, t.exchange, false, nil); err != nil {
			return fmt.Errorf("%w: queue.bind %s %q: %w", ErrBroker, b.queue, b.key, err)
		}
	}
	return nil
}

// remove deletes what declare created; it keeps going past errors (a
// failed declare leaves part of it) and returns the first.
func (t topology) remove(c *conn) error {
	ch, err := c.Channel()
	if err != nil {
		return fmt.Errorf("%w: cleanup channel: %w", ErrBroker, err)
	}
	defer func() { _ = ch.Close() }()
	var first error
	for _, q := range t.queues {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			if first == nil {
				first = fmt.Errorf("%w: queue.delete %s: %w", ErrBroker, q, err)
			}
			next, err := c.Channel() // the error closed the channel
			if err != nil {
				return first
			}
			ch = next
		}
	}
	if t.exchange != "" {
		if err := ch.ExchangeDelete(t.exchange, false, false); err != nil && first == nil {
			first = fmt.Errorf("%w: exchange.delete %s: %w", ErrBroker, t.exchange, err)
		}
	}
	return first
}
