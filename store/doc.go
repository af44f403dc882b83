// Package store is Warren's log-structured message store: per namespace
// (AMQP vhost) one append-only commit log in which the records of all topics
// are interleaved, per-topic indexes of fixed-size entries, and consumer
// groups (AMQP queues) that are cursors over those topics with POP-style
// leasing, acknowledgement and requeue.
//
// The interface in store.go is deliberately narrow and backend-neutral (a
// log and groups with opaque receipts) so that a second implementation on a
// distributed log can follow. Queue semantics a backend may lack (TTL,
// dead-lettering, max-length, priority) live above these primitives where
// practical.
//
// # Two stores, one engine
//
// NewMemory and Open return the same engine (engine.go, group.go, pop.go)
// over two backends: memory.go keeps encoded records in memory and persists
// nothing; the file backend (filelog.go, segment.go, fileindex.go,
// statelog.go, openfile.go) writes the formats below. Package storetest is
// the conformance suite both run; a later backend runs it too.
//
// A namespace has one mutex; the file backend's own mutex nests inside it
// and is the only lock the flusher goroutine takes.
//
// # Groups
//
// A group takes a record iff one of its bindings does: same topic, the
// record's Revision inside the binding's [From, Until), and the filter
// matching. Bindings missing from a later EnsureGroup end at its Revision
// and are kept (at most 64 ended ones per group) so records routed before
// the unbind are still delivered. A new group starts reading where the
// namespace's running maximum revision first reached the lowest From, so a
// record a proxy routed under the binding's revision just before the group
// existed is not lost.
//
// Key-only verdicts are memoized per group in a bounded two-way set
// associative cache (memo.go) keyed by the seeded 64-bit hash of the
// routing key that the index entry carries, salted per binding; a scan
// reads a record only on a memo miss or for a filter that needs properties.
// Cursors read index entries in batches into buffers lent by the
// namespace (bufpool.go) and given back when the cursor catches up, so an
// idle group holds none.
//
// Pop serves the requeued set first, lowest position first (RabbitMQ's
// "original position"), then the cursor. Leases are per owner: one deadline
// per owner and namespace, renewed in bulk by Extend, expired by one timer
// per namespace; Release requeues everything an owner holds. A receipt is
// position<<16 | delivery count, so the receipt of an earlier delivery of a
// requeued message is refused. Ready and unacked counters move on append
// (the filter runs once per bound group at append time), pop, ack, nack,
// requeue, purge and rebinding (which recounts only the records whose
// verdict can change).
//
// # Expiry and dead letters
//
// A record's deadline is the earlier of its ExpiresAt and, for a group
// with a MessageTTL, Timestamp+MessageTTL, where the TTL is the one in
// force when the record was appended (a group remembers its last 16 TTL
// changes by position), as RabbitMQ fixes it at enqueue; it is fixed when
// the group takes the record, so a requeued message keeps it. Expiry happens at the head
// only, as in RabbitMQ (expiry.go): Pop gives up expired records instead of
// delivering them, and one timer per group, armed for the deadline of the
// head, gives up the expired head when nobody pops. To know the head's
// deadline the timer parks the next record of the cursor in the requeued
// set, undelivered; the backlog behind a live head is never scanned. A
// given-up message (expired, or Nack without requeue) is finished like an
// ack, or, when GroupConfig.DeadLetters is set, waits in the group's dead
// list (pinning its segment, counted neither ready nor unacked) until
// TakeDead reads and finishes it; GroupConfig.OnDead is called after the
// lock is released when the list becomes non-empty. Dead-lettering is at
// most once, as RabbitMQ's classic queues: a crash after TakeDead and
// before the caller republished loses the message, and a crash before
// TakeDead makes it ready again (and expire again).
//
// Length limits (limits.go) bound a group's ready messages and bytes,
// checked on append without a scan: under drop-head the group takes the
// record and then gives up its head (requeued set first, then the
// cursor's next record, reason maxlen) until within the limits; under
// reject-publish a record that would go past a limit is added to the
// group's skip set (the cursor passes it by; a durable group writes it to
// the state log as finished before Append returns, so the refused record
// stays refused after a crash), Append returns ErrOverflow with the
// position (other groups took it), and reject-publish-dlx also gives it
// up as a dead letter (lost if the process dies before TakeDead).
//
// A priority group (GroupConfig.MaxPriority, priority.go) has one
// sub-cursor per level over its topic indexes (index entries carry the
// priority) and an exact count of the records ahead of each, so Pop serves
// the highest level that has a ready record, FIFO within a level, exactly
// over the whole backlog and in memory independent of it; the requeued
// set is ordered by level, then position. Drop-head and expiry give up
// the same head Pop would serve, the oldest message of the highest level,
// as RabbitMQ 3.10 does. Its checkpoints carry the sub-cursors and the
// per-level counts (state record type 9).
//
// # Commit log
//
// Segments log/%020d.log are named by the position of their first byte;
// a Position is a byte offset in the namespace's log. Segments grow as
// written (never preallocated) up to Options.SegmentSize; a roll only
// creates the next file and kicks the flusher, which fdatasyncs the old
// segment and fsyncs the directory outside every lock (a roll never makes
// Pop or Append wait for the disk). Records are read with pread
// into buffers (the log is never mapped: mapped pages count in RSS); a
// log read in order (a drained backlog, popped one record at a time when
// consumers share a queue) is read in 256 KiB chunks, 4 per namespace
// (readahead.go).
// Record layout, little endian:
//
//	+0   u32 length of the whole record
//	+4   u32 CRC32C of bytes [8, length)
//	+8   u64 topic id
//	+16  u64 meta revision the record was routed under
//	+24  i64 timestamp, Unix ms
//	+32  i64 expires-at, Unix ms, 0 for none
//	+40  u8  priority
//	+41  u8  flags (bit 0: persistent)
//	+42  u8  exchange length     +43 u8 routing-key length
//	+44  u32 properties length   +48 u32 body length
//	+52  exchange, routing key, properties, body
//
// The CRC is checked on every read and in recovery; a corrupt record is
// never delivered: Pop logs its position at error level and finishes it
// for the group (persisted like an ack, so a restart does not retry it),
// then goes on. A record a filter must read to decide on is taken by no
// group when corrupt (logged too). A record that fails to read for another
// reason goes back to the requeued set and Pop returns the error.
//
// # Index files
//
// index/<topic>.idx holds one 56-byte entry per record of the topic, in
// position order, little endian:
//
//	+0  u64 position     +8  u32 record size   +12 u32 body length
//	+16 u64 key hash     +24 u64 revision      +32 i64 timestamp
//	+40 i64 expires-at   +48 u8 flags  +49 u8 priority  +50 2 bytes zero
//	+52 u32 CRC32C of bytes [0, 52)
//
// Index files are derived data: created on a topic's first write, written
// in batches of 1024 entries, never fsynced, read with pread (never
// mapped), a scan 2048 entries at a time through one read-ahead buffer
// per namespace (at most 256 open index files per namespace, least
// recently used closed first). Every 32 MiB of log the engine
// writes all buffered entries and records an index checkpoint (the position
// and each topic's entry count) in the state log. Opening validates every
// entry (checksum, increasing, inside the log), cuts a file at the first bad
// one, and rescans the log from the checkpoint, or from where a damaged file
// stops, to add what is missing.
//
// # Group state log
//
// One append-only log per namespace, state/%020d.state, of framed records
// (u32 length, u32 CRC32C, u8 type, payload); types: group config (origin
// and bindings with their specs), acks (positions), checkpoint (cursor,
// delivered mark, pending positions, skip spans: "every position of the
// group in [origin, cursor) is finished except these"), delivered mark,
// drop group, drop topic, index checkpoint, snapshot end, priority
// checkpoint (a checkpoint whose cursor is the lowest busy sub-cursor,
// then per level: sub-cursor, persistent records ahead and their bytes;
// older logs without it stay readable, priostate.go), durable mark (type
// 10: the commit log was fdatasynced up to a position), return counts
// (type 11: positions and how often each was returned, written at every
// return of a group with CountReturns and in its snapshots,
// deliverycount.go), return counts with re-entries (type 12: the same
// with the log's tail at each return, for a group with ReturnToTail, in
// place of type 11; also written by a Pop that delivers returned
// messages from the back, tailreturn.go). Pops are not written otherwise,
// nor requeues of other groups (a crash returns all unacked anyway). A purge is one
// checkpoint record. A group checkpoints after max(4096, pending) acks, so
// a checkpoint costs a bounded amount per ack however many are unacked;
// when a generation passes max(8 MiB, twice its snapshot), checked every
// 4096 appends and after every checkpoint, and at every open, a new
// generation starts with a snapshot of every durable group ended by a
// snapshot-end record; it is written under the namespace lock but fsynced
// with its directory by the flusher (before any callback that follows it),
// which then deletes the generations older than the previous one (at open
// it is synced at once). A generation without its snapshot end is ignored
// for the previous one.
//
// After a crash a durable group restarts at its origin skipping finished
// spans: everything unacked is delivered again, redelivered=true below the
// delivered-up-to mark (persisted 4 MiB of positions ahead of the cursor,
// so rarely), and acked stays acked. Non-durable groups are not in the
// state log and vanish; records without FlagPersistent below the log's end
// at open are skipped.
//
// # Durability
//
// Append never waits for the disk. One flusher per namespace writes the
// buffered bytes and, under the Sync policy as soon as anyone waits in
// WhenDurable (group commit; after a commit that called back waiters, it
// first gives them a moment to come back: gather.go) and otherwise every
// FlushInterval, fdatasyncs
// the data segments (and the log directory after a roll), then appends a
// durable mark for what that covered to the state log (at most once per
// FlushInterval, or when the state log is synced anyway), then fsyncs the
// state log when it holds records other than marks (marks ride along with
// the next such fsync, or reach the disk by the OS's writeback; a mark is
// written only after its fdatasync returned, so any mark found on disk is
// true); callbacks fire for every position the sync covered, after both
// syncs, on a goroutine of their own (callqueue.go) while the flusher
// starts the next cycle. No fsync runs under a lock. Under Async
// callbacks fire once the bytes reached the OS: that survives the process
// dying (kill -9), not a power loss, which keeps at least what the last
// periodic fdatasync covered (every FlushInterval and at every roll) and
// can lose anything after it, the tail being cut at its first damaged
// record. The policy is per store, overridable per namespace
// (Options.NamespaceFlush); within a namespace the caller chooses per
// message whether to wait at all (non-persistent messages need not). State
// records written before a callback's record are synced before the
// callback fires, so a record appended after some acks is durable only
// once those acks are. A failed write or
// fsync stops the log for good (ErrStopped, with ErrDiskFull for ENOSPC):
// pending callbacks get the error and nothing is retried and confirmed;
// Options.OnStop is called once per stopped namespace so the process can
// exit (fail-stop).
//
// Recovery takes the highest durable mark of the state log and scans the
// segments from the one holding it to the end. Past the mark nothing was
// fdatasynced, and a power loss may have persisted later pages and not
// earlier ones, so the first damage there (a bad record, or a gap between
// segments) is a torn tail even with valid records after it: the log is
// truncated there, later segments deleted, and a warning logs the position,
// the mark, the bytes dropped and where valid records followed. Damage
// below the mark, or a log that ends before it, fails Open with ErrCorrupt
// and the position. (A mark that had not reached the disk only lowers it:
// real corruption in the last unmarked stretch is then cut as a torn
// tail.) What stays is fdatasynced before it counts durable. A fresh state
// generation written at open drops state that pointed past a truncated
// tail, so positions reused after a truncation are never taken for acked.
//
// # Retention
//
// Every 4096 appends, and at every checkpoint of a durable group (so a
// drain with no publisher frees its log as it goes), the engine computes
// the lowest position any group may need (its oldest pending message or
// its cursor's next entry; an idle group whose topics saw nothing new pins
// nothing) and deletes the segments wholly below it, once older than
// RetentionAge or while the log is larger than RetentionBytes (both zero:
// at once), and tells the kernel it may drop the cached log just below it
// (pagecache.go). Records of topics no group reads are
// garbage. A dropped topic is remembered (appends to it are refused, a
// recovery skips its records) until the log head passes the tail it had
// when dropped; topic ids are never reused. Compaction (copying live
// records forward past a pinning group)
// is not done yet.
//
// # Tests and benchmarks
//
// go test ./store/ runs the conformance suite on both stores, a crash test
// that SIGKILLs a child process 50 times, power-loss and I/O-error tests
// over an in-memory fault-injecting FS, byte-flip tests, and short runs of
// the fuzz targets of the on-disk decoders. Open takes an flock on
// Dir/LOCK (ErrLocked for a second process). By hand:
//
//	go test -run '^$' -bench . -benchtime 2s ./store/
//	dd if=/dev/zero of=FILE bs=1M count=1024 conv=fdatasync
//	WARREN_STORE_BACKLOG_GIB=5 go test -run TestBacklogMemory -v -timeout 30m ./store/
//	go test -run '^$' -fuzz FuzzStateRecords ./store/
//
// The last writes a 5 GiB backlog to a durable group and checks the
// process's RSS stays under 150 MiB while appending and then popping it.
package store
