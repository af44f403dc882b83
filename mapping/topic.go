package mapping

import "bytes"

// tokenKind is what one word of a topic binding key matches.
type tokenKind uint8

const (
	tokLiteral tokenKind = iota // exactly this word
	tokStar                     // "*": exactly one word, which may be empty
	tokHash                     // "#": zero or more words
)

// token is one compiled word of a binding key.
type token struct {
	kind tokenKind
	lit  string // the word, for tokLiteral
}

// topicShape lets Match skip the general algorithm for common keys.
type topicShape uint8

const (
	shapeLiteral topicShape = iota // no wildcard: string equality
	shapeAll                       // only "#" words: matches every key
	shapeNoHash                    // "*" but no "#": one pass, equal word counts
	shapeGeneral                   // at least one "#" and something else
)

// Topic is a compiled topic-exchange binding key. The zero value is the
// empty binding key, which matches only the empty routing key. A Topic is
// immutable and safe for concurrent use; Match does not allocate.
type Topic struct {
	key    string
	toks   []token
	shape  topicShape
	nWords int // words in the key, for shapeNoHash
}

// CompileTopic compiles a topic binding key. Every string is a valid key:
// words are separated by '.', a word that is exactly "*" or "#" is a
// wildcard, and every other word (including "a*", "[x]" or "") is literal.
// Consecutive "#" words collapse into one, which matches the same keys.
func CompileTopic(bindingKey string) Topic {
	t := Topic{key: bindingKey}
	if bindingKey == "" {
		return t // zero words: matches only the empty routing key
	}
	var stars, hashes int
	rest := bindingKey
	for {
		word, tail, more := cutWord(rest)
		switch word {
		case "#":
			hashes++
			if n := len(t.toks); n > 0 && t.toks[n-1].kind == tokHash {
				break // "#.#" matches what "#" matches
			}
			t.toks = append(t.toks, token{kind: tokHash})
		case "*":
			stars++
			t.toks = append(t.toks, token{kind: tokStar})
		default:
			t.toks = append(t.toks, token{kind: tokLiteral, lit: word})
		}
		if !more {
			break
		}
		rest = tail
	}
	t.nWords = len(t.toks)
	switch {
	case hashes == 0 && stars == 0:
		t.shape = shapeLiteral
	case hashes > 0 && len(t.toks) == 1:
		t.shape = shapeAll
	case hashes == 0:
		t.shape = shapeNoHash
	default:
		t.shape = shapeGeneral
	}
	return t
}

// Key returns the binding key the Topic was compiled from.
func (t Topic) Key() string { return t.key }

// Match reports whether routingKey matches the binding key, exactly as
// RabbitMQ 3.10's topic exchange decides it.
func (t *Topic) Match(routingKey []byte) bool {
	switch t.shape {
	case shapeLiteral:
		return string(routingKey) == t.key
	case shapeAll:
		return true
	case shapeNoHash:
		return t.matchNoHash(routingKey)
	default:
		return t.matchGeneral(routingKey)
	}
}

// MatchString is Match for a string routing key.
func (t *Topic) MatchString(routingKey string) bool {
	// The conversion does not escape, so it does not allocate.
	return t.Match([]byte(routingKey))
}

// matchNoHash matches a key of literals and stars: the routing key must have
// as many words, each equal to its literal or under a star.
func (t *Topic) matchNoHash(key []byte) bool {
	if len(key) == 0 {
		return false // zero words, and the binding key has at least one
	}
	pos, more := 0, true
	for i := range t.toks {
		if !more {
			return false // the routing key has fewer words
		}
		if t.toks[i].kind == tokStar {
			_, pos, more = nextWord(key, pos)
			continue
		}
		var ok bool
		if pos, more, ok = matchLiteral(key, pos, t.toks[i].lit); !ok {
			return false
		}
	}
	return !more
}

// matchGeneral is wildcard matching over words with one backtrack point: a
// "#" first absorbs no word; when the words after it fail, the most recent
// "#" absorbs one more word and matching resumes behind it. Literals and
// stars consume exactly one word each, so revisiting only the last "#" is
// enough (the classic argument for '*' in glob matching), and the work is
// bounded by words × tokens.
func (t *Topic) matchGeneral(key []byte) bool {
	toks := t.toks
	p, pos, more := 0, 0, len(key) > 0
	backTok, backPos := -1, 0
	for more {
		if p < len(toks) {
			switch tk := toks[p]; tk.kind {
			case tokHash:
				if p == len(toks)-1 {
					return true // a final "#" takes whatever is left
				}
				backTok, backPos = p, pos
				p++
				continue
			case tokStar:
				_, pos, more = nextWord(key, pos)
				p++
				continue
			default:
				if np, nm, ok := matchLiteral(key, pos, tk.lit); ok {
					pos, more = np, nm
					p++
					continue
				}
			}
		}
		if backTok < 0 {
			return false
		}
		// The last "#" absorbs one more word.
		_, backPos, more = nextWord(key, backPos)
		pos, p = backPos, backTok+1
	}
	for p < len(toks) && toks[p].kind == tokHash {
		p++
	}
	return p == len(toks)
}

// nextWord returns the word of key starting at pos, the start of the next
// word, and whether there is a next word (the word ended at a '.').
func nextWord(key []byte, pos int) (word []byte, next int, more bool) {
	i := bytes.IndexByte(key[pos:], '.')
	if i < 0 {
		return key[pos:], len(key), false
	}
	return key[pos : pos+i], pos + i + 1, true
}

// matchLiteral reports whether the word of key starting at pos is lit and
// returns what nextWord would, without scanning for the '.'.
func matchLiteral(key []byte, pos int, lit string) (next int, more, ok bool) {
	end := pos + len(lit)
	if end > len(key) || string(key[pos:end]) != lit {
		return 0, false, false
	}
	if end == len(key) {
		return end, false, true
	}
	return end + 1, true, key[end] == '.'
}

// cutWord is nextWord for strings, used when compiling.
func cutWord(s string) (word, rest string, more bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
