package store

// memo is a group's bounded cache of key-only filter verdicts, keyed by the
// seeded routing-key hash mixed with the binding's serial. It is two-way set
// associative with one least-recently-used bit per set: a fixed size, no
// allocation after the first use, and unique-per-message keys (RPC reply
// keys) simply churn through it.
type memo struct {
	slots []memoSlot // 2 per set
	lru   []uint8    // per set: the way to evict next
}

type memoSlot struct {
	tag uint64
	val uint8 // 0 empty, 1 no match, 2 match
}

const memoSets = 2048

// memoSalt is a binding's salt, from its serial.
func memoSalt(serial uint64) uint64 { return mix64(serial + 0x9E3779B97F4A7C15) }

// get returns the verdict and whether it was known.
func (m *memo) get(tag uint64) (match, ok bool) {
	if m.slots == nil {
		return false, false
	}
	set := int(tag % memoSets)
	for way := 0; way < 2; way++ {
		s := &m.slots[set*2+way]
		if s.val != 0 && s.tag == tag {
			m.lru[set] = uint8(1 - way)
			return s.val == 2, true
		}
	}
	return false, false
}

func (m *memo) put(tag uint64, match bool) {
	if m.slots == nil {
		m.slots = make([]memoSlot, memoSets*2)
		m.lru = make([]uint8, memoSets)
	}
	set := int(tag % memoSets)
	way := int(m.lru[set])
	for w := 0; w < 2; w++ {
		if m.slots[set*2+w].val == 0 {
			way = w
			break
		}
	}
	v := uint8(1)
	if match {
		v = 2
	}
	m.slots[set*2+way] = memoSlot{tag: tag, val: v}
	m.lru[set] = uint8(1 - way)
}

// reset forgets every verdict (bindings changed).
func (m *memo) reset() {
	clear(m.slots)
}
