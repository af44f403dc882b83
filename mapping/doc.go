// Package mapping holds the pure functions that map AMQP onto the store:
// bindings to compiled filters that reproduce RabbitMQ's direct, fanout,
// topic and headers matching exactly, the serialized filter spec the store
// persists, binding identities, and queue naming.
//
// # Topic matching
//
// RabbitMQ 3.10 splits routing and binding keys at every '.': the empty key
// has no words, "a." is the words "a" and "", and ".." is three empty words.
// A binding word "*" matches exactly one word (possibly empty), "#" matches
// zero or more words (so "a.#" matches "a", "#" matches the empty key), and
// every other word is compared byte for byte, glob metacharacters such as
// '?', '[', '{' and '\' included. A word that merely contains '*' or '#'
// ("a*", "#a") is literal.
//
// CompileTopic turns a binding key into words once; Topic.Match then walks
// the routing key in place (no split, no allocation) with one backtrack
// point at the last "#". It is checked against testdata/topic_golden.tsv,
// recorded from RabbitMQ 3.10.8 by mapping/internal/goldengen, and fuzzed
// against a slow recursive reference (FuzzTopicMatch).
//
// # Why not github.com/gobwas/glob
//
// The house rule is gobwas/glob only where it reproduces RabbitMQ exactly.
// It does not, so Warren does not use it:
//
// Its documented grammar has "*" for any run of non-separator characters
// (the empty run included) and "**" for any run of characters.
//
//   - glob matches strings, not word lists. The empty routing key is zero
//     words to RabbitMQ, but to a glob with separator '.' it is one empty
//     segment, so "*" would match "" (RabbitMQ: no). Every pattern with a
//     "*" needs that special case.
//   - "#" is zero or more words and so eats a separator only when it eats a
//     word: "a.#" matches "a", "#.a" matches "a", "a.#.b" matches "a.b".
//     glob's "**" cannot drop the adjacent '.'; each "#" needs an
//     alternation ({a,a.**}), which grows with every "#" in the key.
//   - Literal words must be quoted for glob ('?', '[', '{', '\', '*'),
//     adding a failure mode (an escaping bug) the word matcher cannot have.
//
// The word matcher is a few dozen lines, exact by construction and
// allocation free; gobwas/glob is therefore not in go.mod.
//
// # Headers matching
//
// A headers filter compiles the binding arguments once and reads the
// message's headers table from the raw AMQP property block, without
// decoding it into a map. It follows rabbit_exchange_type_headers of 3.10:
//
//   - x-match is "all" (also when missing), "any", "all-with-x" or
//     "any-with-x"; any other value, or a non-longstr type, is refused with
//     the text RabbitMQ sends in its 406 (ErrInvalidBinding).
//   - The "x-match" argument is never matched; other arguments starting
//     with "x-" are ignored unless x-match ends in "-with-x".
//   - An argument of type void (V) matches the presence of the header,
//     whatever its value.
//   - Values compare as Erlang's == on RabbitMQ's decoded terms: all integer
//     types (b B s u I i l T) and floats (f d) compare as numbers (I:1
//     equals l:1, T:1 and d:1.0), longstr (S) equals byte array (x) with
//     the same bytes, booleans and decimals equal only their own type, and
//     nested tables and arrays compare element by element with their types
//     (F:{k=I:1} differs from F:{k=l:1}); an empty table equals an empty
//     array.
//   - "all" with no arguments left matches every message; "any" with none
//     matches nothing. Such a filter does not ask the store for the
//     message's properties (NeedsProperties is false).
//   - A header name repeated in one table (possible on the wire, not from
//     map-based clients): the n-th argument of a name meets the n-th header
//     of that name, as RabbitMQ's merge of the two sorted lists does.
//
// The rules are checked against testdata/headers_golden.tsv, recorded from
// RabbitMQ 3.10.8 the same way as the topic table.
//
// Binding arguments reach the filter as the amqpwire.Table the proxy
// decoded, so their original order is gone: they are encoded with sorted
// keys, nested tables included, and a nested table in a binding argument
// therefore matches a header's nested table only when the header lists the
// keys in sorted order too (RabbitMQ compares nested tables in wire order).
//
// # Filter spec
//
// A filter's serialized form (store.Binding.Spec, rebuilt by CompileFilter
// when the store recovers) is:
//
//	+---------+------+-------------+-------------+----------------------+
//	| version | kind | key length  | binding key | arguments            |
//	| 1 byte  | 1 B  | uvarint     | bytes       | headers only: field  |
//	| = 1     |      |             |             | table, 4-byte length |
//	+---------+------+-------------+-------------+----------------------+
//
// kind is 'd' direct, 'f' fanout, 't' topic or 'h' headers. The arguments
// of a headers binding are its table exactly as compiled (keys sorted when
// it came from an amqpwire.Table); no arguments is a zero length. A path
// (the bindings of an exchange-to-exchange chain, all of which must match)
// is
//
//	| version = 1 | 'p' | hop count (uvarint) | per hop: uvarint length, hop spec |
//
// with no path inside a path. Varints are minimal, so each filter has
// exactly one spec; anything else is ErrBadSpec.
//
// # Tests
//
// The golden tables are re-recorded from a RabbitMQ 3.10 on 127.0.0.1:5672
// (cases in mapping/internal/golden; a case added without re-recording
// fails the tests):
//
//	go run ./mapping/internal/goldengen -out mapping/testdata
//
// The fuzz targets' seeds run with every go test; fuzz by hand with
//
//	go test ./mapping -run '^$' -fuzz FuzzTopicMatch -fuzztime 5m
//	go test ./mapping -run '^$' -fuzz FuzzHeadersMatch -fuzztime 5m
//	go test ./mapping -run '^$' -fuzz FuzzCompileFilter -fuzztime 2m
//
// FuzzHeadersMatch compares the matcher with headers_ref_test.go, a
// clause-by-clause transliteration of RabbitMQ's headers_match over a model
// of Erlang terms (exact rationals for numbers).
package mapping
