package store

// memo is a group's bounded cache of key-only filter verdicts, keyed by the
// seeded routing-key hash salted with the binding's serial. It is four-way
// set associative, each set kept roughly in most-recently-used order (a hit
// moves up one place, an insert goes first, the last is evicted): a fixed
// size, no allocation after the first use, and unique-per-message keys
// (RPC reply keys) simply churn through it.
type memo struct {
	slots []memoSlot // memoWays per set
}

type memoSlot struct {
	tag uint64
	val uint8 // memoNone, memoNo or memoYes
}

const (
	memoSets = 1024
	memoWays = 4
)

// memoSalt is a binding's salt, from its serial.
func memoSalt(serial uint64) uint64 { return mix64(serial + 0x9E3779B97F4A7C15) }

// get returns the verdict and whether it was known.
func (m *memo) get(tag uint64) (match, ok bool) {
	i := (tag % memoSets) * memoWays
	if i >= uint64(len(m.slots)) { // nil until the first put
		return false, false
	}
	set := m.slots[i : i+memoWays : i+memoWays]
	if s := set[0]; s.tag == tag && s.val != 0 { // the usual case
		return s.val == memoYes, true
	}
	for i := 1; i < memoWays; i++ {
		if s := set[i]; s.val != 0 && s.tag == tag {
			set[i], set[i-1] = set[i-1], s // move up one place: a cheap approximation of LRU
			return s.val == memoYes, true
		}
	}
	return false, false
}

// first returns the verdict in the first way of tag's set (memoNo,
// memoYes), or memoNone when it holds another tag: small enough to be
// inlined in scan loops that ask once per index entry, where most keys
// hit there.
func (m *memo) first(tag uint64) uint8 {
	i := (tag % memoSets) * memoWays
	if i < uint64(len(m.slots)) && m.slots[i].tag == tag {
		return m.slots[i].val
	}
	return memoNone
}

// Verdicts in a memoSlot.
const (
	memoNone uint8 = iota // empty slot
	memoNo
	memoYes
)

// put records a verdict as the most recently used of its set.
func (m *memo) put(tag uint64, match bool) {
	if m.slots == nil {
		m.slots = make([]memoSlot, memoSets*memoWays)
	}
	set := m.slots[(tag%memoSets)*memoWays:][:memoWays]
	copy(set[1:], set[:memoWays-1])
	v := memoNo
	if match {
		v = memoYes
	}
	set[0] = memoSlot{tag: tag, val: v}
}
