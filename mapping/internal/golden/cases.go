package golden

// TopicBindingKeys are the binding keys of the topic golden table; every one
// is recorded against every TopicRoutingKeys entry.
var TopicBindingKeys = []string{
	"", "#", "*", "#.#", "##", "**", "*.#.*", "a.#.b", "a.#", "#.a", "#.b.#",
	"a.*", "*.a", "*.*", "*.*.*", "a", "a.b", "a.b.c", "a.*.c", "a.#.#.b",
	"a.*.#", "a.#.*", "#.*", "*.#", "#.#.c", "a..b", ".", "..", "a.", ".a",
	"*.", ".*", "#.", ".#", "ü.#", "日本.*", "a?", "[a].*", "{a,b}", "a*",
	"*a", "a#", "#a", `\.`, "a b", "a.b.c.d.e", "*.*.*.*.*", "#.a.#.a.#",
}

// TopicRoutingKeys are the routing keys published in the topic recording.
var TopicRoutingKeys = []string{
	"", ".", "..", "...", "a", "b", "c", "a.b", "a.b.c", "a.c", "a.x.c",
	"a.x.y.b", "a.b.b", "a..b", "a.", ".a", "a.b.", ".a.b", "x.a", "x.a.b",
	"a.x.b", "a.x", "x.c", "a.b.c.d.e", "a.b.c.d", "a.a", "a.a.a", "b.a.b.a",
	"ü", "ü.x", "日本.x", "日本", "a?", "ab", "[a].x", "{a,b}", "a*", "xa",
	"*", "#", "a#", "#a", `\.`, `\`, "a b", "**", "a.b.x.b", "x.b.x",
}

// HeaderCase is a named table: binding arguments or message headers.
type HeaderCase struct {
	Name string
	// Fields is the table; Absent means the message has no headers
	// property at all (as opposed to an empty table).
	Fields []Field
	Absent bool
}

// HeaderBindings are the binding arguments of the headers golden table.
var HeaderBindings = []HeaderCase{
	{Name: "empty", Fields: nil},
	{Name: "any-only", Fields: []Field{F("x-match", Str("any"))}},
	{Name: "all-only", Fields: []Field{F("x-match", Str("all"))}},
	{Name: "all-a-S1", Fields: []Field{F("x-match", Str("all")), F("a", Str("1"))}},
	{Name: "default-a-S1", Fields: []Field{F("a", Str("1"))}},
	{Name: "all-a-S1-b-S2", Fields: []Field{F("x-match", Str("all")), F("a", Str("1")), F("b", Str("2"))}},
	{Name: "any-a-S1-b-S2", Fields: []Field{F("x-match", Str("any")), F("a", Str("1")), F("b", Str("2"))}},
	{Name: "all-a-I1", Fields: []Field{F("a", I32(1))}},
	{Name: "any-a-l1", Fields: []Field{F("x-match", Str("any")), F("a", I64(1))}},
	{Name: "all-a-d1", Fields: []Field{F("a", F64(1))}},
	{Name: "all-a-f1.5", Fields: []Field{F("a", F32(1.5))}},
	{Name: "all-a-x1", Fields: []Field{F("a", Bytes("1"))}},
	{Name: "all-a-void", Fields: []Field{F("a", Void())}},
	{Name: "any-a-void-b-S2", Fields: []Field{F("x-match", Str("any")), F("a", Void()), F("b", Str("2"))}},
	{Name: "all-a-true", Fields: []Field{F("a", Bool(true))}},
	{Name: "all-a-dec", Fields: []Field{F("a", Dec(2, 100))}},
	{Name: "all-a-T1", Fields: []Field{F("a", Time(1))}},
	{Name: "all-a-table", Fields: []Field{F("a", Tab(F("k", I32(1))))}},
	{Name: "all-a-table-empty", Fields: []Field{F("a", Tab())}},
	{Name: "all-a-array", Fields: []Field{F("a", Arr(I32(1), Str("x")))}},
	{Name: "all-x-foo", Fields: []Field{F("x-match", Str("all")), F("x-foo", Str("bar"))}},
	{Name: "allx-x-foo", Fields: []Field{F("x-match", Str("all-with-x")), F("x-foo", Str("bar"))}},
	{Name: "anyx-x-foo-a-S9", Fields: []Field{F("x-match", Str("any-with-x")), F("x-foo", Str("bar")), F("a", Str("9"))}},
	{Name: "any-x-foo", Fields: []Field{F("x-match", Str("any")), F("x-foo", Str("bar"))}},
	{Name: "allx-only", Fields: []Field{F("x-match", Str("all-with-x"))}},
	{Name: "anyx-only", Fields: []Field{F("x-match", Str("any-with-x"))}},
	{Name: "all-a-B255", Fields: []Field{F("a", U8(255))}},
	{Name: "all-a-b-1", Fields: []Field{F("a", I8(-1))}},
	{Name: "all-a-l2^53+1", Fields: []Field{F("a", I64(1<<53+1))}},
	{Name: "all-a-i4294967295", Fields: []Field{F("a", U32(4294967295))}},
	{Name: "all-unicode", Fields: []Field{F("ключ", Str("значение"))}},
	{Name: "all-A-S1", Fields: []Field{F("A", Str("1"))}},
	{Name: "all-a-S1-x-foo", Fields: []Field{F("a", Str("1")), F("x-foo", Str("bar"))}},
}

// HeaderMessages are the message headers published in the headers
// recording.
var HeaderMessages = []HeaderCase{
	// amqp091-go leaves an empty headers table out of the properties, so
	// "no headers" is recorded once, as absent; RabbitMQ routes an empty
	// table the same way (both are the empty list to its matcher).
	{Name: "absent", Absent: true},
	{Name: "a-S1", Fields: []Field{F("a", Str("1"))}},
	{Name: "a-x1", Fields: []Field{F("a", Bytes("1"))}},
	{Name: "a-I1", Fields: []Field{F("a", I32(1))}},
	{Name: "a-l1", Fields: []Field{F("a", I64(1))}},
	{Name: "a-b1", Fields: []Field{F("a", I8(1))}},
	{Name: "a-u1", Fields: []Field{F("a", U16(1))}},
	{Name: "a-T1", Fields: []Field{F("a", Time(1))}},
	{Name: "a-d1", Fields: []Field{F("a", F64(1))}},
	{Name: "a-f1", Fields: []Field{F("a", F32(1))}},
	{Name: "a-f1.5", Fields: []Field{F("a", F32(1.5))}},
	{Name: "a-d1.5", Fields: []Field{F("a", F64(1.5))}},
	{Name: "a-S1-b-S2", Fields: []Field{F("a", Str("1")), F("b", Str("2"))}},
	{Name: "b-S2-a-S1", Fields: []Field{F("b", Str("2")), F("a", Str("1"))}},
	{Name: "b-S2", Fields: []Field{F("b", Str("2"))}},
	{Name: "a-S1-b-S3", Fields: []Field{F("a", Str("1")), F("b", Str("3"))}},
	{Name: "a-void", Fields: []Field{F("a", Void())}},
	{Name: "a-true", Fields: []Field{F("a", Bool(true))}},
	{Name: "a-false", Fields: []Field{F("a", Bool(false))}},
	{Name: "a-dec-2-100", Fields: []Field{F("a", Dec(2, 100))}},
	{Name: "a-dec-1-10", Fields: []Field{F("a", Dec(1, 10))}},
	{Name: "a-table-I1", Fields: []Field{F("a", Tab(F("k", I32(1))))}},
	{Name: "a-table-l1", Fields: []Field{F("a", Tab(F("k", I64(1))))}},
	{Name: "a-table-empty", Fields: []Field{F("a", Tab())}},
	{Name: "a-array-empty", Fields: []Field{F("a", Arr())}},
	{Name: "a-array-I1-Sx", Fields: []Field{F("a", Arr(I32(1), Str("x")))}},
	{Name: "a-array-l1-Sx", Fields: []Field{F("a", Arr(I64(1), Str("x")))}},
	{Name: "a-array-I1-xx", Fields: []Field{F("a", Arr(I32(1), Bytes("x")))}},
	{Name: "x-foo-bar", Fields: []Field{F("x-foo", Str("bar"))}},
	{Name: "x-foo-bar-a-S9", Fields: []Field{F("x-foo", Str("bar")), F("a", Str("9"))}},
	{Name: "x-match-allx-x-foo-bar", Fields: []Field{F("x-match", Str("all-with-x")), F("x-foo", Str("bar"))}},
	{Name: "a-B255", Fields: []Field{F("a", U8(255))}},
	{Name: "a-u255", Fields: []Field{F("a", U16(255))}},
	{Name: "a-b-1", Fields: []Field{F("a", I8(-1))}},
	{Name: "a-l-1", Fields: []Field{F("a", I64(-1))}},
	{Name: "a-l2^53+1", Fields: []Field{F("a", I64(1<<53+1))}},
	{Name: "a-d2^53", Fields: []Field{F("a", F64(1<<53))}},
	{Name: "a-i4294967295", Fields: []Field{F("a", U32(4294967295))}},
	{Name: "a-l4294967295", Fields: []Field{F("a", I64(4294967295))}},
	{Name: "a-I-1", Fields: []Field{F("a", I32(-1))}},
	{Name: "unicode", Fields: []Field{F("ключ", Str("значение"))}},
	{Name: "A-S1", Fields: []Field{F("A", Str("1"))}},
	{Name: "a-S1-x-foo-bar", Fields: []Field{F("a", Str("1")), F("x-foo", Str("bar"))}},
}

// HeaderBindErrors are binding arguments RabbitMQ refuses on queue.bind;
// the recording keeps its reply code and text.
var HeaderBindErrors = []HeaderCase{
	{Name: "x-match-foo", Fields: []Field{F("x-match", Str("foo"))}},
	{Name: "x-match-bytes", Fields: []Field{F("x-match", Bytes("any"))}},
	{Name: "x-match-int", Fields: []Field{F("x-match", I32(1))}},
	{Name: "x-match-ALL", Fields: []Field{F("x-match", Str("ALL"))}},
}
