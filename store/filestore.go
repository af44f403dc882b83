package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"go.uber.org/fx"
	"golang.org/x/sys/unix"
)

// fileStore is the file implementation: one directory per namespace under
// Options.Dir.
type fileStore struct {
	opts Options
	lock *os.File // flock on Dir/LOCK (OS file system only)
	mu   struct {
		sync.Mutex
		closed bool
		spaces map[string]*namespace
	}
}

// Open opens the store in opts.Dir, recovering every namespace found there.
// A namespace whose log is corrupt in the middle makes Open fail with an
// error wrapping ErrCorrupt that names the position.
func Open(opts Options) (Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := opts.FS.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	s := &fileStore{opts: opts}
	s.mu.spaces = map[string]*namespace{}
	if _, ok := opts.FS.(OSFS); ok {
		if s.lock, err = lockDir(opts.Dir); err != nil {
			return nil, err
		}
	}
	names, err := opts.FS.ReadDir(opts.Dir)
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	for _, d := range names {
		h, ok := strings.CutPrefix(d, "ns-")
		if !ok {
			continue
		}
		name, err := hex.DecodeString(h)
		if err != nil {
			continue
		}
		n, err := openFileNamespace(opts, opts.Dir, string(name))
		if err != nil {
			return nil, errors.Join(err, s.Close())
		}
		s.mu.spaces[string(name)] = n
	}
	return s, nil
}

func (s *fileStore) Namespace(name string) (Namespace, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return nil, ErrClosed
	}
	if n := s.mu.spaces[name]; n != nil {
		return n, nil
	}
	n, err := openFileNamespace(s.opts, s.opts.Dir, name)
	if err != nil {
		return nil, err
	}
	s.mu.spaces[name] = n
	return n, nil
}

func (s *fileStore) DropNamespace(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return ErrClosed
	}
	var err error
	if n := s.mu.spaces[name]; n != nil {
		err = n.shutdown()
		delete(s.mu.spaces, name)
	}
	if rerr := s.opts.FS.RemoveAll(filepath.Join(s.opts.Dir, nsDirName(name))); rerr != nil {
		return errors.Join(err, rerr)
	}
	return errors.Join(err, s.opts.FS.SyncDir(s.opts.Dir))
}

// Close flushes and syncs every namespace and releases the files.
func (s *fileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return nil
	}
	s.mu.closed = true
	var errs []error
	for _, n := range s.mu.spaces {
		errs = append(errs, n.shutdown())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close()) // releases the flock
	}
	return errors.Join(errs...)
}

// ErrLocked is returned by Open when another store has the directory open.
var ErrLocked = errors.New("store: data directory in use by another process")

// lockDir takes an exclusive flock on dir/LOCK, so two processes never
// write one store.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrLocked, dir, err)
	}
	return f, nil
}

// Module provides a Store opened from the Options value the application
// supplies (fx.Supply(store.Options{...})), closed when the app stops.
var Module = fx.Module("store", fx.Provide(newForFx))

func newForFx(lc fx.Lifecycle, opts Options) (Store, error) {
	s, err := Open(opts)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.Hook{OnStop: func(context.Context) error { return s.Close() }})
	return s, nil
}
