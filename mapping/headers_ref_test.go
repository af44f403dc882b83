package mapping

import (
	"encoding/binary"
	"math"
	"math/big"
	"sort"
	"testing"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/mapping/internal/golden"
)

// This file is a slow model of RabbitMQ 3.10.8's headers exchange, written
// as a transliteration of rabbit_binary_parser:parse_table and
// rabbit_exchange_type_headers:headers_match over a model of Erlang terms,
// so that the fast matcher can be fuzzed against it.

// termKind is the Erlang type of a modelled term.
type termKind uint8

const (
	termNumber termKind = iota // integer or float: == compares values
	termBinary
	termAtom
	termTuple
	termList
)

// term is an Erlang term: numbers are exact rationals, since == between an
// integer and a float is exact comparison in OTP 25.
type term struct {
	kind  termKind
	num   *big.Rat
	str   string // binary bytes or atom name
	elems []term // tuple or list
}

func numTerm(r *big.Rat) term { return term{kind: termNumber, num: r} }
func atomTerm(s string) term  { return term{kind: termAtom, str: s} }
func tuple(e ...term) term    { return term{kind: termTuple, elems: e} }
func binTerm(b []byte) term   { return term{kind: termBinary, str: string(b)} }
func intTerm(i int64) term    { return numTerm(new(big.Rat).SetInt64(i)) }
func uintTerm(u uint64) term  { return numTerm(new(big.Rat).SetInt(new(big.Int).SetUint64(u))) }
func listTerm(e []term) term  { return term{kind: termList, elems: e} }
func boolTerm(b bool) term    { return atomTerm(map[bool]string{true: "true", false: "false"}[b]) }

// erlEqual is Erlang's ==.
func erlEqual(a, b term) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case termNumber:
		return a.num.Cmp(b.num) == 0
	case termBinary, termAtom:
		return a.str == b.str
	}
	if len(a.elems) != len(b.elems) {
		return false
	}
	for i := range a.elems {
		if !erlEqual(a.elems[i], b.elems[i]) {
			return false
		}
	}
	return true
}

// refTypeNames are the atoms parse_table gives each tag.
var refTypeNames = map[byte]string{
	'S': "longstr", 'T': "timestamp", 'b': "byte", 'B': "unsignedbyte",
	's': "short", 'u': "unsignedshort", 'I': "signedint", 'i': "unsignedint",
	'd': "double", 'f': "float", 'l': "long", 'L': "long", 't': "bool",
	'D': "decimal", 'F': "table", 'A': "array", 'x': "binary", 'V': "void",
}

// refParseValue parses one tagged value as parse_table does; ok is false
// where the Erlang function clause would not match (RabbitMQ refuses the
// frame), including NaN and infinite floats.
func refParseValue(tag byte, b []byte) (v term, rest []byte, ok bool) {
	be := binary.BigEndian
	need := func(n int) bool { return len(b) >= n }
	switch tag {
	case 'S', 'x', 'F', 'A':
		return refParseLong(tag, b)
	case 'V':
		return atomTerm("undefined"), b, true
	case 'b', 'B', 't':
		if !need(1) {
			return term{}, nil, false
		}
		switch tag {
		case 'b':
			return intTerm(int64(int8(b[0]))), b[1:], true
		case 'B':
			return intTerm(int64(b[0])), b[1:], true
		}
		return boolTerm(b[0] != 0), b[1:], true
	case 's', 'u':
		if !need(2) {
			return term{}, nil, false
		}
		if tag == 's' {
			return intTerm(int64(int16(be.Uint16(b)))), b[2:], true
		}
		return intTerm(int64(be.Uint16(b))), b[2:], true
	case 'I', 'i', 'f':
		if !need(4) {
			return term{}, nil, false
		}
		switch tag {
		case 'I':
			return intTerm(int64(int32(be.Uint32(b)))), b[4:], true
		case 'i':
			return intTerm(int64(be.Uint32(b))), b[4:], true
		}
		f := float64(math.Float32frombits(be.Uint32(b)))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return term{}, nil, false
		}
		return numTerm(new(big.Rat).SetFloat64(f)), b[4:], true
	case 'l', 'L', 'T', 'd':
		if !need(8) {
			return term{}, nil, false
		}
		switch tag {
		case 'T':
			return uintTerm(be.Uint64(b)), b[8:], true
		case 'd':
			f := math.Float64frombits(be.Uint64(b))
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return term{}, nil, false
			}
			return numTerm(new(big.Rat).SetFloat64(f)), b[8:], true
		}
		return intTerm(int64(be.Uint64(b))), b[8:], true
	case 'D':
		if !need(5) {
			return term{}, nil, false
		}
		return tuple(intTerm(int64(b[0])), uintTerm(uint64(be.Uint32(b[1:])))), b[5:], true
	}
	return term{}, nil, false
}

// refParseLong parses the length-prefixed kinds S x F A.
func refParseLong(tag byte, b []byte) (v term, rest []byte, ok bool) {
	if len(b) < 4 || uint64(binary.BigEndian.Uint32(b)) > uint64(len(b)-4) {
		return term{}, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	body, rest := b[4:4+n], b[4+n:]
	switch tag {
	case 'F':
		l, ok := refParseTable(body)
		return listTerm(l), rest, ok
	case 'A':
		l, ok := refParseArray(body)
		return listTerm(l), rest, ok
	}
	return binTerm(body), rest, true
}

// refEntry is one {Name, Type, Value} of a parsed table.
type refEntry struct {
	key string
	typ string
	val term
}

func refParseEntries(b []byte) ([]refEntry, bool) {
	var out []refEntry
	for len(b) > 0 {
		n := int(b[0])
		if len(b) < 2+n {
			return nil, false
		}
		key, tag := string(b[1:1+n]), b[1+n]
		v, rest, ok := refParseValue(tag, b[2+n:])
		if !ok {
			return nil, false
		}
		out = append(out, refEntry{key: key, typ: refTypeNames[tag], val: v})
		b = rest
	}
	return out, true
}

func refParseTable(b []byte) ([]term, bool) {
	entries, ok := refParseEntries(b)
	out := make([]term, len(entries))
	for i, e := range entries {
		out[i] = tuple(binTerm([]byte(e.key)), atomTerm(e.typ), e.val)
	}
	return out, ok
}

func refParseArray(b []byte) ([]term, bool) {
	var out []term
	for len(b) > 0 {
		v, rest, ok := refParseValue(b[0], b[1:])
		if !ok {
			return nil, false
		}
		out = append(out, tuple(atomTerm(refTypeNames[b[0]]), v))
		b = rest
	}
	return out, true
}

// refXMatch is parse_x_match after validate_binding: "" for a binding
// validate_binding refuses.
func refXMatch(args []refEntry) string {
	for _, e := range args { // table_lookup: the first x-match
		if e.key != "x-match" {
			continue
		}
		if e.typ != "longstr" {
			return ""
		}
		switch e.val.str {
		case "all", "any", "all-with-x", "any-with-x":
			return e.val.str
		}
		return ""
	}
	return "all"
}

// refHeadersMatch is headers_match/5, clause by clause, over lists sorted
// with lists:keysort (stable).
func refHeadersMatch(pattern, data []refEntry, mk string) bool {
	keysort := func(l []refEntry) []refEntry {
		l = append([]refEntry(nil), l...)
		sort.SliceStable(l, func(i, j int) bool { return l[i].key < l[j].key })
		return l
	}
	p, d := keysort(pattern), keysort(data)
	all, anyM := true, false
	withX := mk == "all-with-x" || mk == "any-with-x"
	isAll := mk == "all" || mk == "all-with-x"
	for {
		switch {
		case isAll && !all:
			return false
		case !isAll && anyM:
			return true
		case len(p) == 0:
			if isAll {
				return all
			}
			return anyM
		case p[0].key == "x-match":
			p = p[1:]
		case !withX && len(p[0].key) >= 2 && p[0].key[:2] == "x-":
			p = p[1:]
		case len(d) == 0:
			p, all = nil, false
		case p[0].key > d[0].key:
			d = d[1:]
		case p[0].key < d[0].key:
			p, all = p[1:], false
		case p[0].typ == "void":
			p, d, anyM = p[1:], d[1:], true
		case erlEqual(p[0].val, d[0].val):
			p, d, anyM = p[1:], d[1:], true
		default:
			p, d, all = p[1:], d[1:], false
		}
	}
}

func TestRefHeadersAgreesWithGolden(t *testing.T) {
	rows := readTSV(t, "testdata/headers_golden.tsv", 5)
	for _, row := range rows {
		b := findCase(t, golden.HeaderBindings, row[0])
		m := findCase(t, golden.HeaderMessages, row[1])
		args, ok := refParseEntries(golden.AppendTable(nil, b.Fields)[4:])
		if !ok {
			t.Fatalf("reference cannot parse %s", b.Name)
		}
		data, ok := refParseEntries(golden.AppendTable(nil, m.Fields)[4:])
		if !ok {
			t.Fatalf("reference cannot parse %s", m.Name)
		}
		got := refHeadersMatch(args, data, refXMatch(args))
		if want := row[2] == "true"; got != want {
			t.Errorf("reference: binding %s message %s: got %v, recorded %v", b.Name, m.Name, got, want)
		}
	}
}

// FuzzHeadersMatch compares the fast matcher with the reference on
// arbitrary binding and header tables. Fuzz by hand with
//
//	go test ./mapping -run '^$' -fuzz FuzzHeadersMatch -fuzztime 5m
func FuzzHeadersMatch(f *testing.F) {
	for i, b := range golden.HeaderBindings {
		m := golden.HeaderMessages[i%len(golden.HeaderMessages)]
		f.Add(golden.AppendTable(nil, b.Fields)[4:], golden.AppendTable(nil, m.Fields)[4:])
	}
	f.Fuzz(func(t *testing.T, args, headers []byte) {
		refArgs, ok := refParseEntries(args)
		if !ok || amqpwire.ValidateTable(args) != nil {
			return // refused before it could become a binding
		}
		refData, ok := refParseEntries(headers)
		if !ok {
			return // RabbitMQ refuses the message
		}
		raw := binary.BigEndian.AppendUint32(nil, uint32(len(args)))
		h, err := CompileHeaders(append(raw, args...))
		mk := refXMatch(refArgs)
		if mk == "" {
			if err == nil {
				t.Fatalf("args %x: compiled, RabbitMQ refuses the binding", args)
			}
			return
		}
		if err != nil {
			t.Fatalf("args %x: %v", args, err)
		}
		want := refHeadersMatch(refArgs, refData, mk)
		if got := h.MatchHeaders(headers); got != want {
			t.Fatalf("args %x headers %x: got %v, reference %v", args, headers, got, want)
		}
		if !h.NeedsHeaders() && h.MatchHeaders(nil) != want {
			t.Fatalf("args %x: verdict depends on headers but NeedsHeaders is false", args)
		}
	})
}
