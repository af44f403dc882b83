package mapping

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/mapping/internal/golden"
)

// refSplit splits a key into words the way RabbitMQ's split_topic_key does:
// the empty key has no words; otherwise every '.' separates two words, which
// may be empty.
func refSplit(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, ".")
}

// refTopicMatch is the slow, obviously correct matcher the fast one is
// fuzzed against: a direct recursive reading of the rules, memoized so that
// many "#" words stay cheap.
func refTopicMatch(bindingKey, routingKey string) bool {
	pat, words := refSplit(bindingKey), refSplit(routingKey)
	memo := map[[2]int]bool{}
	var match func(p, w int) bool
	match = func(p, w int) bool {
		k := [2]int{p, w}
		if v, ok := memo[k]; ok {
			return v
		}
		var v bool
		switch {
		case p == len(pat):
			v = w == len(words)
		case pat[p] == "#":
			// zero words, or one word and "#" still in force
			v = match(p+1, w) || (w < len(words) && match(p, w+1))
		case w == len(words):
			v = false
		case pat[p] == "*":
			v = match(p+1, w+1)
		default:
			v = pat[p] == words[w] && match(p+1, w+1)
		}
		memo[k] = v
		return v
	}
	return match(0, 0)
}

func TestTopicMatch(t *testing.T) {
	tests := []struct {
		give, key string
		want      bool
	}{
		{give: "", key: "", want: true},
		{give: "", key: ".", want: false},
		{give: "#", key: "", want: true},
		{give: "#", key: "a.b.c", want: true},
		{give: "*", key: "", want: false},
		{give: "*", key: "a", want: true},
		{give: "*", key: ".", want: false},
		{give: "*.*", key: ".", want: true},
		{give: "a.#", key: "a", want: true},
		{give: "a.#", key: "a.", want: true},
		{give: "a.#", key: "ab", want: false},
		{give: "#.a", key: "a", want: true},
		{give: "#.a", key: ".a", want: true},
		{give: "a.#.b", key: "a.b", want: true},
		{give: "a.#.b", key: "a.x.y.b", want: true},
		{give: "a.#.b", key: "a.b.b", want: true},
		{give: "a.#.b", key: "a.b.x", want: false},
		{give: "#.#", key: "", want: true},
		{give: "*.#.*", key: "a", want: false},
		{give: "*.#.*", key: "a.b", want: true},
		{give: "*.#.*", key: "a.b.c.d", want: true},
		{give: "a.*.#", key: "a", want: false},
		{give: "a.*.#", key: "a.b", want: true},
		{give: "a..b", key: "a..b", want: true},
		{give: "a.*.b", key: "a..b", want: true},
		{give: "a.", key: "a", want: false},
		{give: ".a", key: ".a", want: true},
		{give: "a?", key: "ab", want: false},
		{give: "a?", key: "a?", want: true},
		{give: "[a].*", key: "a.x", want: false},
		{give: "[a].*", key: "[a].x", want: true},
		{give: "{a,b}", key: "a", want: false},
		{give: "a*", key: "ab", want: false},
		{give: "a*", key: "a*", want: true},
		{give: "a#", key: "a", want: false},
		{give: "**", key: "a", want: false},
		{give: "**", key: "**", want: true},
		{give: "ü.#", key: "ü", want: true},
		{give: "日本.*", key: "日本.x", want: true},
		{give: "#.a.#.a.#", key: "b.a.b.a", want: true},
		{give: "#.a.#.a.#", key: "b.a.b", want: false},
		{give: "#.a.b", key: "a.a.a.b", want: true},
		{give: "#.a.*.b", key: "a.a.x.a.c.b", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.give+"|"+tt.key, func(t *testing.T) {
			c := CompileTopic(tt.give)
			assert.Equal(t, tt.want, c.Match([]byte(tt.key)))
			assert.Equal(t, tt.want, c.MatchString(tt.key))
			assert.Equal(t, tt.want, refTopicMatch(tt.give, tt.key), "reference matcher")
			assert.Equal(t, tt.give, c.Key())
		})
	}
}

// goldenTopicRow is one row of testdata/topic_golden.tsv.
type goldenTopicRow struct {
	binding, routing string
	matched          bool
}

func readTopicGolden(t testing.TB) []goldenTopicRow {
	t.Helper()
	f, err := os.Open("testdata/topic_golden.tsv")
	require.NoError(t, err)
	defer f.Close()
	var rows []goldenTopicRow
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") || text == "" {
			continue
		}
		cols := strings.Split(text, "\t")
		require.Len(t, cols, 3, "line %d", line)
		b, err := strconv.Unquote(cols[0])
		require.NoError(t, err, "line %d", line)
		r, err := strconv.Unquote(cols[1])
		require.NoError(t, err, "line %d", line)
		m, err := strconv.ParseBool(cols[2])
		require.NoError(t, err, "line %d", line)
		rows = append(rows, goldenTopicRow{binding: b, routing: r, matched: m})
	}
	require.NoError(t, sc.Err())
	return rows
}

// TestTopicGolden checks the matcher (and the reference matcher) against
// every row recorded from RabbitMQ 3.10.8.
func TestTopicGolden(t *testing.T) {
	rows := readTopicGolden(t)
	require.GreaterOrEqual(t, len(rows), 80)
	// Every case of mapping/internal/golden was recorded, in order: a case
	// added without re-running goldengen fails here.
	require.Len(t, rows, len(golden.TopicBindingKeys)*len(golden.TopicRoutingKeys))
	for i, r := range rows {
		require.Equal(t, golden.TopicBindingKeys[i/len(golden.TopicRoutingKeys)], r.binding, "row %d", i)
		require.Equal(t, golden.TopicRoutingKeys[i%len(golden.TopicRoutingKeys)], r.routing, "row %d", i)
	}
	var matched int
	for _, r := range rows {
		c := CompileTopic(r.binding)
		assert.Equal(t, r.matched, c.Match([]byte(r.routing)), "binding %q routing %q", r.binding, r.routing)
		assert.Equal(t, r.matched, refTopicMatch(r.binding, r.routing), "reference: binding %q routing %q", r.binding, r.routing)
		if r.matched {
			matched++
		}
	}
	// A table that is all false (or all true) would prove little.
	assert.Greater(t, matched, len(rows)/20)
	assert.Less(t, matched, len(rows)/2)
}

func TestTopicMatchDoesNotAllocate(t *testing.T) {
	patterns := []string{"a.b.c", "#", "a.*.c", "*.#.*", "a.#.b.#.c"}
	key := []byte("a.x.b.y.c")
	for _, p := range patterns {
		c := CompileTopic(p)
		allocs := testing.AllocsPerRun(100, func() {
			c.Match(key)
			c.MatchString("a.x.b.y.c")
		})
		assert.Zero(t, allocs, p)
	}
}

// FuzzTopicMatch compares the matcher with the reference on arbitrary keys.
// The seed corpus (the golden rows and testdata/fuzz/FuzzTopicMatch) runs
// with every `go test`; fuzz by hand with
//
//	go test ./mapping -run '^$' -fuzz FuzzTopicMatch -fuzztime 5m
func FuzzTopicMatch(f *testing.F) {
	for _, r := range readTopicGolden(f) {
		f.Add(r.binding, r.routing)
	}
	f.Fuzz(func(t *testing.T, bindingKey, routingKey string) {
		if len(bindingKey) > 255 || len(routingKey) > 255 {
			return // both are shortstr on the wire
		}
		want := refTopicMatch(bindingKey, routingKey)
		c := CompileTopic(bindingKey)
		if got := c.Match([]byte(routingKey)); got != want {
			t.Fatalf("binding %q routing %q: got %v, reference %v", bindingKey, routingKey, got, want)
		}
	})
}

func BenchmarkTopicMatch(b *testing.B) {
	c := CompileTopic("stock.*.nyse.#")
	key := []byte("stock.ibm.nyse.trade.buy")
	b.ReportAllocs()
	b.SetBytes(int64(len(key)))
	for b.Loop() {
		if !c.Match(key) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkTopicMatchMiss(b *testing.B) {
	c := CompileTopic("*.orders.#.eu")
	key := []byte("shop.orders.created.2024.us")
	b.ReportAllocs()
	b.SetBytes(int64(len(key)))
	for b.Loop() {
		if c.Match(key) {
			b.Fatal("match")
		}
	}
}

// BenchmarkTopicMatch100 is one routing key against 100 bindings with "*"
// and "#" (the load tool's topic case), as the proxy's publish-time walk
// and 100 queues' filters see it.
func BenchmarkTopicMatch100(b *testing.B) {
	topics := make([]Topic, 100)
	for i := range topics {
		switch i % 4 {
		case 0:
			topics[i] = CompileTopic("stock." + strconv.Itoa(i) + ".#")
		case 1:
			topics[i] = CompileTopic("*.nyse." + strconv.Itoa(i))
		case 2:
			topics[i] = CompileTopic("#.trade." + strconv.Itoa(i))
		default:
			topics[i] = CompileTopic("stock.*.nyse.#")
		}
	}
	key := []byte("stock.ibm.nyse.trade.buy")
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for i := range topics {
			if topics[i].Match(key) {
				n++
			}
		}
		if n != 25 {
			b.Fatalf("%d matches", n)
		}
	}
}
