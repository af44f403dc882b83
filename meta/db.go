package meta

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Options configure Open.
type Options struct {
	// Path is the bbolt file, e.g. <data-dir>/meta.db.
	Path string
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// FeedSize is how many recent changes the in-memory change feed keeps
	// (default 16384). A follower further behind gets ErrCompacted.
	FeedSize int
	// OpenTimeout bounds the wait for bbolt's file lock (default 5s).
	OpenTimeout time.Duration
	// NoSync skips fsync on commit: for throwaway data (tests) only, as a
	// crash may then lose or corrupt the file.
	NoSync bool
}

// Bucket names. Keys inside a bucket are the object's names joined by a zero
// byte; values are the object's JSON (see codec.go).
var (
	bucketMeta        = []byte("meta")
	bucketVhosts      = []byte("vhosts")
	bucketUsers       = []byte("users")
	bucketPermissions = []byte("permissions")
	bucketExchanges   = []byte("exchanges")
	bucketQueues      = []byte("queues")
	bucketBindings    = []byte("bindings")
	bucketPolicies    = []byte("policies")
	bucketTopicPerms  = []byte("topicperms")

	keyRevision    = []byte("revision")
	keyRevCeiling  = []byte("revision-ceiling")
	keyIDCeiling   = []byte("id-ceiling")
	keyFormat      = []byte("format")
	allBuckets     = [][]byte{bucketMeta, bucketVhosts, bucketUsers, bucketPermissions, bucketExchanges, bucketQueues, bucketBindings, bucketPolicies, bucketTopicPerms}
	currentFormat  = []byte("1")
	reserveBlock   = uint64(4096)
	defaultFeedLen = 16384
)

// DB is MQ-Meta over a bbolt file. It keeps the whole metadata in memory
// (durable objects loaded at Open, transient ones only there), serializes
// writes, and persists each write's durable part in one bbolt transaction.
type DB struct {
	bolt *bolt.DB
	log  *slog.Logger

	// wmu serializes writers (see update); lock order: wmu, then mu.
	wmu sync.Mutex
	// mu guards everything below; readers see only committed states.
	mu struct {
		sync.RWMutex
		st      *state
		rev     uint64 // last revision handed out
		revCeil uint64 // revisions up to this are reserved in bbolt
		nextID  uint64 // last id handed out
		idCeil  uint64 // ids up to this are reserved in bbolt
		feed    *feed
		closed  bool
	}
}

var _ Service = (*DB)(nil)

// Open opens or creates the bbolt file at opts.Path, loads it, and on first
// open creates vhost "/", user guest/guest (administrator) and guest's full
// permission on "/".
func Open(opts Options) (*DB, error) {
	if opts.Path == "" {
		return nil, errors.New("meta: Options.Path is empty")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.FeedSize <= 0 {
		opts.FeedSize = defaultFeedLen
	}
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = 5 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, fmt.Errorf("meta: open %s: %w", opts.Path, err)
	}
	b, err := bolt.Open(opts.Path, 0o600, &bolt.Options{Timeout: opts.OpenTimeout, NoSync: opts.NoSync, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("meta: open %s: %w", opts.Path, err)
	}
	db := &DB{bolt: b, log: log}
	db.mu.st = newState()
	fresh, err := db.load()
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	db.mu.feed = newFeed(opts.FeedSize, db.mu.rev)
	if fresh {
		if err := db.bootstrap(); err != nil {
			_ = b.Close()
			return nil, err
		}
	}
	log.Info("meta opened", "path", opts.Path, "revision", db.mu.rev, "fresh", fresh)
	return db, nil
}

// bootstrap creates RabbitMQ's first-start defaults.
func (db *DB) bootstrap() error {
	ctx := context.Background()
	if _, err := db.PutVhost(ctx, Vhost{Name: "/"}); err != nil {
		return err
	}
	guest := User{Name: "guest", PasswordHash: HashPassword("guest"), HashingAlgorithm: HashSHA256, Tags: []string{"administrator"}}
	if _, err := db.PutUser(ctx, guest); err != nil {
		return err
	}
	_, err := db.PutPermission(ctx, Permission{User: "guest", Vhost: "/", Configure: ".*", Write: ".*", Read: ".*"})
	return err
}

// Close closes the bbolt file and wakes every Changes waiter with ErrClosed.
func (db *DB) Close() error {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	db.mu.Lock()
	if db.mu.closed {
		db.mu.Unlock()
		return nil
	}
	db.mu.closed = true
	db.mu.feed.close()
	db.mu.Unlock()
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("meta: close: %w", err)
	}
	return nil
}

// Revision is the last revision handed out.
func (db *DB) Revision() uint64 {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.mu.rev
}

// Snapshot returns the whole state.
func (db *DB) Snapshot(ctx context.Context) (*Snapshot, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.mu.closed {
		return nil, ErrClosed
	}
	return db.mu.st.snapshot(db.mu.rev), nil
}

// load reads every bucket into memory; fresh reports an empty file.
func (db *DB) load() (fresh bool, err error) {
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
		switch f := m.Get(keyFormat); {
		case f == nil:
			fresh = true
			return m.Put(keyFormat, currentFormat)
		case string(f) != string(currentFormat):
			return fmt.Errorf("%w: file format %q, this build reads %q", ErrFormat, f, currentFormat)
		}
		db.mu.rev = max(getUint(m, keyRevision), getUint(m, keyRevCeiling))
		db.mu.revCeil = db.mu.rev
		db.mu.nextID = getUint(m, keyIDCeiling)
		db.mu.idCeil = db.mu.nextID
		return loadObjects(tx, db.mu.st)
	})
	if err != nil {
		return false, fmt.Errorf("meta: load: %w", err)
	}
	return fresh, nil
}

func loadObjects(tx *bolt.Tx, st *state) error {
	return errors.Join(
		loadBucket(tx, bucketVhosts, func(v *Vhost) { st.vhosts[v.Name] = v }),
		loadBucket(tx, bucketUsers, func(u *User) { st.users[u.Name] = u }),
		loadBucket(tx, bucketPermissions, func(p *Permission) { st.permissions[nameKey{p.Vhost, p.User}] = p }),
		loadBucket(tx, bucketExchanges, func(x *Exchange) { st.exchanges[nameKey{x.Vhost, x.Name}] = x }),
		loadBucket(tx, bucketQueues, func(q *Queue) { st.queues[nameKey{q.Vhost, q.Name}] = q }),
		loadBucket(tx, bucketBindings, func(b *Binding) { st.bindings[keyOf(b)] = b; st.index(b) }),
		loadBucket(tx, bucketPolicies, func(p *Policy) { st.policies[nameKey{p.Vhost, p.Name}] = p }),
		loadBucket(tx, bucketTopicPerms, func(p *TopicPermission) { st.topicPerms[topicKeyOf(p)] = p }),
	)
}

func loadBucket[T any](tx *bolt.Tx, name []byte, add func(*T)) error {
	return tx.Bucket(name).ForEach(func(k, v []byte) error {
		obj := new(T)
		if err := json.Unmarshal(v, obj); err != nil {
			return fmt.Errorf("meta: bucket %s key %q: %w", name, k, err)
		}
		add(obj)
		return nil
	})
}

func getUint(b *bolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putUint(b *bolt.Bucket, key []byte, n uint64) error {
	return b.Put(key, binary.BigEndian.AppendUint64(nil, n))
}

// dbKey joins names with a zero byte into a bbolt key.
func dbKey(parts ...string) []byte {
	var k []byte
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}
