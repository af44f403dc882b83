package store

// SetStateMax sets the state-log size past which the file namespace ns
// compacts it (tests lower it to compact often).
func SetStateMax(ns Namespace, v int64) {
	l := ns.(*namespace).be.(*fileLog)
	l.mu.Lock()
	l.stateMax = v
	l.mu.Unlock()
}
