// Command goldengen records mapping's golden tables from a real RabbitMQ:
// for each exchange type it declares an exchange, binds one server-named
// queue per binding case, publishes every message case with publisher
// confirms, drains the queues with basic.get and writes which queue received
// which message.
//
// Run it by hand against RabbitMQ 3.10 (never in CI; the tables are checked
// in):
//
//	go run ./mapping/internal/goldengen -url amqp://guest:guest@127.0.0.1:5672/ -out mapping/testdata
//
// It writes topic_golden.tsv, headers_golden.tsv and
// headers_bind_errors.tsv. The cases live in mapping/internal/golden.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/warren-mq/warren/mapping/internal/golden"
)

func main() {
	url := flag.String("url", "amqp://guest:guest@127.0.0.1:5672/", "AMQP URL of the RabbitMQ to record")
	out := flag.String("out", "mapping/testdata", "directory the tables are written to")
	flag.Parse()
	if err := run(*url, *out); err != nil {
		log.Fatal(err)
	}
}

func run(url, out string) error {
	conn, err := amqp.Dial(url)
	if err != nil {
		return fmt.Errorf("goldengen: dial: %w", err)
	}
	defer conn.Close()
	version, _ := conn.Properties["version"].(string)
	product, _ := conn.Properties["product"].(string)
	server := fmt.Sprintf("%s %s", product, version)

	if err := recordTopic(conn, server, filepath.Join(out, "topic_golden.tsv")); err != nil {
		return err
	}
	if err := recordHeaders(conn, server, filepath.Join(out, "headers_golden.tsv")); err != nil {
		return err
	}
	return recordBindErrors(conn, server, filepath.Join(out, "headers_bind_errors.tsv"))
}

// binding is one queue's binding to the recorded exchange.
type binding struct {
	key  string
	args amqp.Table
}

// publishing is one message published to the recorded exchange.
type publishing struct {
	key     string
	headers amqp.Table
}

// route declares an exchange of the given kind, binds a queue per binding,
// publishes every message and returns got[binding][message].
func route(conn *amqp.Connection, kind string, bs []binding, ps []publishing) ([][]bool, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("goldengen: channel: %w", err)
	}
	defer ch.Close()
	exchange := "warren.golden." + kind
	if err := ch.ExchangeDeclare(exchange, kind, false, true, false, false, nil); err != nil {
		return nil, fmt.Errorf("goldengen: declare %s: %w", exchange, err)
	}
	defer ch.ExchangeDelete(exchange, false, false)
	queues := make([]string, len(bs))
	for i, b := range bs {
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return nil, fmt.Errorf("goldengen: declare queue: %w", err)
		}
		if err := ch.QueueBind(q.Name, b.key, exchange, false, b.args); err != nil {
			return nil, fmt.Errorf("goldengen: bind %q %v: %w", b.key, b.args, err)
		}
		queues[i] = q.Name
	}
	if err := publishAll(ch, exchange, ps); err != nil {
		return nil, err
	}
	got := make([][]bool, len(bs))
	for i, q := range queues {
		got[i] = make([]bool, len(ps))
		for {
			d, ok, err := ch.Get(q, true)
			if err != nil {
				return nil, fmt.Errorf("goldengen: get: %w", err)
			}
			if !ok {
				break
			}
			n, err := strconv.Atoi(d.MessageId)
			if err != nil || n < 0 || n >= len(ps) {
				return nil, fmt.Errorf("goldengen: unexpected message id %q", d.MessageId)
			}
			got[i][n] = true
		}
	}
	return got, nil
}

// publishAll publishes ps with confirms and waits until every one is acked.
func publishAll(ch *amqp.Channel, exchange string, ps []publishing) error {
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("goldengen: confirm.select: %w", err)
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, len(ps)+1))
	for i, p := range ps {
		msg := amqp.Publishing{MessageId: strconv.Itoa(i), Headers: p.headers, Body: []byte("x")}
		if err := ch.Publish(exchange, p.key, false, false, msg); err != nil {
			return fmt.Errorf("goldengen: publish: %w", err)
		}
	}
	timeout := time.After(30 * time.Second)
	for range ps {
		select {
		case c := <-confirms:
			if !c.Ack {
				return errors.New("goldengen: publish nacked")
			}
		case <-timeout:
			return errors.New("goldengen: confirms timed out")
		}
	}
	return nil
}

func recordTopic(conn *amqp.Connection, server, path string) error {
	bs := make([]binding, len(golden.TopicBindingKeys))
	for i, k := range golden.TopicBindingKeys {
		bs[i] = binding{key: k}
	}
	ps := make([]publishing, len(golden.TopicRoutingKeys))
	for i, k := range golden.TopicRoutingKeys {
		ps[i] = publishing{key: k}
	}
	got, err := route(conn, "topic", bs, ps)
	if err != nil {
		return err
	}
	return writeTSV(path, func(w *bufio.Writer) {
		fmt.Fprintf(w, "# Topic exchange routing recorded from %s by mapping/internal/goldengen; do not edit.\n", server)
		fmt.Fprintf(w, "# Columns: binding key, routing key (both Go-quoted), whether a queue bound with the key received the message.\n")
		for i, b := range golden.TopicBindingKeys {
			for j, r := range golden.TopicRoutingKeys {
				fmt.Fprintf(w, "%s\t%s\t%t\n", strconv.Quote(b), strconv.Quote(r), got[i][j])
			}
		}
	})
}

func recordHeaders(conn *amqp.Connection, server, path string) error {
	bs := make([]binding, len(golden.HeaderBindings))
	for i, c := range golden.HeaderBindings {
		bs[i] = binding{args: toTable(c.Fields)}
	}
	ps := make([]publishing, len(golden.HeaderMessages))
	for i, c := range golden.HeaderMessages {
		if !c.Absent {
			ps[i] = publishing{headers: toTable(c.Fields)}
		}
	}
	got, err := route(conn, "headers", bs, ps)
	if err != nil {
		return err
	}
	return writeTSV(path, func(w *bufio.Writer) {
		fmt.Fprintf(w, "# Headers exchange routing recorded from %s by mapping/internal/goldengen; do not edit.\n", server)
		fmt.Fprintf(w, "# Columns: binding case, message case (names in mapping/internal/golden), whether the message reached the queue, then the binding arguments and message headers as Tag:value for reading.\n")
		for i, b := range golden.HeaderBindings {
			for j, m := range golden.HeaderMessages {
				fmt.Fprintf(w, "%s\t%s\t%t\t%s\t%s\n", b.Name, m.Name, got[i][j], golden.FieldsString(b.Fields), render(m))
			}
		}
	})
}

func render(c golden.HeaderCase) string {
	if c.Absent {
		return "absent"
	}
	return golden.FieldsString(c.Fields)
}

// recordBindErrors binds with arguments RabbitMQ refuses and records the
// channel-close code and text.
func recordBindErrors(conn *amqp.Connection, server, path string) error {
	type result struct {
		code   int
		reason string
	}
	results := make([]result, len(golden.HeaderBindErrors))
	for i, c := range golden.HeaderBindErrors {
		ch, err := conn.Channel()
		if err != nil {
			return fmt.Errorf("goldengen: channel: %w", err)
		}
		exchange := "warren.golden.headers-errors"
		if err := ch.ExchangeDeclare(exchange, "headers", false, true, false, false, nil); err != nil {
			return fmt.Errorf("goldengen: declare: %w", err)
		}
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return fmt.Errorf("goldengen: declare queue: %w", err)
		}
		err = ch.QueueBind(q.Name, "", exchange, false, toTable(c.Fields))
		var aerr *amqp.Error
		if !errors.As(err, &aerr) {
			return fmt.Errorf("goldengen: bind %s: want a channel error, got %v", c.Name, err)
		}
		results[i] = result{code: aerr.Code, reason: aerr.Reason}
	}
	return writeTSV(path, func(w *bufio.Writer) {
		fmt.Fprintf(w, "# queue.bind to a headers exchange refused by %s, recorded by mapping/internal/goldengen; do not edit.\n", server)
		fmt.Fprintf(w, "# Columns: case, arguments, reply code, reply text (Go-quoted).\n")
		for i, c := range golden.HeaderBindErrors {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", c.Name, golden.FieldsString(c.Fields), results[i].code, strconv.Quote(results[i].reason))
		}
	})
}

func writeTSV(path string, body func(w *bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("goldengen: %w", err)
	}
	w := bufio.NewWriter(f)
	body(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("goldengen: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("goldengen: close %s: %w", path, err)
	}
	return nil
}

// toTable converts golden fields into amqp091-go values whose Go types make
// the client encode exactly the recorded tag.
func toTable(fields []golden.Field) amqp.Table {
	t := amqp.Table{}
	for _, f := range fields {
		t[f.Key] = toValue(f.Val)
	}
	return t
}

func toValue(v golden.Value) any {
	switch v.Tag {
	case 'S':
		return v.Str
	case 'x':
		return []byte(v.Str)
	case 'b':
		return int8(v.Int)
	case 'B':
		return uint8(v.Uint)
	case 's':
		return int16(v.Int)
	case 'u':
		return uint16(v.Uint)
	case 'I':
		return int32(v.Int)
	case 'i':
		return uint32(v.Uint)
	case 'l':
		return v.Int
	case 'f':
		return float32(v.Float)
	case 'd':
		return v.Float
	case 't':
		return v.Bool
	case 'D':
		return amqp.Decimal{Scale: v.Scale, Value: int32(v.Int)}
	case 'T':
		return time.Unix(int64(v.Uint), 0)
	case 'V':
		return nil
	case 'F':
		return toTable(v.Fields)
	case 'A':
		a := make([]any, len(v.Elems))
		for i, e := range v.Elems {
			a[i] = toValue(e)
		}
		return a
	}
	panic(fmt.Sprintf("goldengen: unknown tag %q", v.Tag))
}
