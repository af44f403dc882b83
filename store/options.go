package store

import (
	"fmt"
	"log/slog"
	"time"
)

// FlushPolicy says when appended records are made durable.
type FlushPolicy int

const (
	// Sync: WhenDurable fires after an fdatasync covering the record; the
	// flusher runs as soon as anyone waits, so concurrent appenders share
	// one fdatasync (group commit).
	Sync FlushPolicy = iota
	// Async: WhenDurable fires once the record is written to the operating
	// system; fdatasync runs every FlushInterval.
	Async
)

// Options configure the file store.
type Options struct {
	Dir string
	// SegmentSize is the commit-log segment size (default 1 GiB). Segments
	// grow as written; they are never preallocated.
	SegmentSize int64
	Flush       FlushPolicy
	// NamespaceFlush overrides Flush for the namespaces it names.
	NamespaceFlush map[string]FlushPolicy
	// FlushInterval is the period of the background flush (default 100ms).
	FlushInterval time.Duration
	// MaxMessageSize bounds one encoded record (default 128 MiB, and at
	// most SegmentSize).
	MaxMessageSize int
	// RetentionAge and RetentionBytes: a segment no group needs is deleted
	// once it is older than RetentionAge or the log is larger than
	// RetentionBytes; both zero deletes it as soon as no group needs it.
	RetentionAge   time.Duration
	RetentionBytes int64
	// CompileFilter rebuilds a binding's filter from its Spec when groups
	// are recovered; nil means every recovered binding must have an empty
	// spec (match all).
	CompileFilter func(spec []byte) (Filter, error)
	Logger        *slog.Logger
	// OnStop, when set, is called once for each namespace whose log
	// stops after a failed write or fsync, with the error (wrapping
	// ErrStopped, and ErrDiskFull for ENOSPC), on a goroutine of its own.
	// The namespace then refuses every write until the process restarts,
	// so a broker shuts down (fail-stop) rather than keep serving it.
	OnStop func(err error)
	FS     FS
	// Now is the clock (default time.Now).
	Now func() time.Time
}

const (
	defaultSegmentSize = 1 << 30
	defaultMaxMessage  = 128 << 20
	defaultInterval    = 100 * time.Millisecond
)

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("store: Options.Dir is empty")
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = defaultSegmentSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = defaultInterval
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = defaultMaxMessage
	}
	o.MaxMessageSize = int(min(int64(o.MaxMessageSize), o.SegmentSize))
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.FS == nil {
		o.FS = OSFS{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}
