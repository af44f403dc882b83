package store_test

import (
	"errors"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/warren-mq/warren/store"
)

// faultFS is an in-memory store.FS that models power loss (only synced
// bytes and synced directory entries survive crash) and injects errors.
type faultFS struct {
	mu        sync.Mutex
	files     map[string]*memFile
	durable   map[string]*memFile // directory entries made durable
	dirs      map[string]bool
	failSync  atomic.Bool
	failWrite atomic.Bool
	// hold, when set, makes every Sync and SyncDir wait until its
	// release channel is closed (a slow disk).
	hold atomic.Pointer[syncHold]
	// closeHold, when set, makes every Close wait the same way (the last
	// close of a deleted segment that frees its cached pages).
	closeHold atomic.Pointer[syncHold]
}

// syncHold is a slow fsync: entered receives a value (when there is room)
// each time an fsync starts waiting.
type syncHold struct {
	entered chan struct{}
	release chan struct{}
}

func (f *faultFS) holdSyncs() *syncHold {
	h := &syncHold{entered: make(chan struct{}, 1), release: make(chan struct{})}
	f.hold.Store(h)
	return h
}

func (f *faultFS) holdCloses() *syncHold {
	h := &syncHold{entered: make(chan struct{}, 1), release: make(chan struct{})}
	f.closeHold.Store(h)
	return h
}

func (f *faultFS) waitHold() { waitOn(f.hold.Load()) }

func waitOn(h *syncHold) {
	if h != nil {
		select {
		case h.entered <- struct{}{}:
		default:
		}
		<-h.release
	}
}

type memFile struct {
	mu     sync.Mutex
	data   []byte
	synced []byte
}

func newFaultFS() *faultFS {
	return &faultFS{files: map[string]*memFile{}, durable: map[string]*memFile{}, dirs: map[string]bool{}}
}

// crash returns the file system as a power loss at this moment leaves it.
func (f *faultFS) crash() *faultFS {
	return f.crashKeeping(func(_ string, synced, _ []byte) []byte { return synced })
}

// crashKeeping is crash where keep says what a file with a durable
// directory entry holds afterwards, given its synced and its written
// bytes: the OS may have written back any of the pages not synced.
func (f *faultFS) crashKeeping(keep func(name string, synced, data []byte) []byte) *faultFS {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := newFaultFS()
	for d := range f.dirs {
		c.dirs[d] = true
	}
	for name, mf := range f.durable {
		mf.mu.Lock()
		b := append([]byte(nil), keep(name, mf.synced, mf.data)...)
		nf := &memFile{data: b, synced: append([]byte(nil), b...)}
		mf.mu.Unlock()
		c.files[name], c.durable[name] = nf, nf
	}
	return c
}

type memHandle struct {
	fs *faultFS
	f  *memFile
}

func (f *faultFS) OpenFile(name string, flag int, _ os.FileMode) (store.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mf := f.files[name]
	switch {
	case mf == nil && flag&os.O_CREATE == 0:
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	case mf != nil && flag&os.O_EXCL != 0:
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrExist}
	case mf == nil:
		mf = &memFile{}
		f.files[name] = mf
	case flag&os.O_TRUNC != 0:
		mf.mu.Lock()
		mf.data = nil
		mf.mu.Unlock()
	}
	return &memHandle{fs: f, f: mf}, nil
}

func (f *faultFS) MkdirAll(p string, _ os.FileMode) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ; p != "/" && p != "."; p = path.Dir(p) {
		f.dirs[p] = true
	}
	return nil
}

func (f *faultFS) Remove(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.files[name] == nil {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrNotExist}
	}
	delete(f.files, name)
	return nil
}

func (f *faultFS) RemoveAll(p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name := range f.files {
		if name == p || strings.HasPrefix(name, p+"/") {
			delete(f.files, name)
		}
	}
	for d := range f.dirs {
		if d == p || strings.HasPrefix(d, p+"/") {
			delete(f.dirs, d)
		}
	}
	return nil
}

func (f *faultFS) Rename(from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	mf := f.files[from]
	if mf == nil {
		return &os.PathError{Op: "rename", Path: from, Err: os.ErrNotExist}
	}
	delete(f.files, from)
	f.files[to] = mf
	return nil
}

func (f *faultFS) ReadDir(dir string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dirs[dir] {
		return nil, &os.PathError{Op: "readdir", Path: dir, Err: os.ErrNotExist}
	}
	seen := map[string]bool{}
	for name := range f.files {
		if path.Dir(name) == dir {
			seen[path.Base(name)] = true
		}
	}
	for d := range f.dirs {
		if path.Dir(d) == dir {
			seen[path.Base(d)] = true
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func (f *faultFS) SyncDir(dir string) error {
	f.waitHold()
	f.mu.Lock()
	defer f.mu.Unlock()
	for name := range f.durable {
		if path.Dir(name) == dir && f.files[name] == nil {
			delete(f.durable, name)
		}
	}
	for name, mf := range f.files {
		if path.Dir(name) == dir {
			f.durable[name] = mf
		}
	}
	return nil
}

func (h *memHandle) ReadAt(b []byte, off int64) (int, error) {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	if off >= int64(len(h.f.data)) {
		return 0, io.EOF
	}
	n := copy(b, h.f.data[off:])
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func (h *memHandle) WriteAt(b []byte, off int64) (int, error) {
	if h.fs.failWrite.Load() {
		return 0, &os.PathError{Op: "write", Path: "fault", Err: syscall.ENOSPC}
	}
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	if need := off + int64(len(b)); need > int64(len(h.f.data)) {
		h.f.data = append(h.f.data, make([]byte, need-int64(len(h.f.data)))...)
	}
	copy(h.f.data[off:], b)
	return len(b), nil
}

func (h *memHandle) Sync() error {
	h.fs.waitHold()
	if h.fs.failSync.Load() {
		return errors.New("fault: fsync failed")
	}
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	h.f.synced = append(h.f.synced[:0], h.f.data...)
	return nil
}

func (h *memHandle) Truncate(size int64) error {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	if size < int64(len(h.f.data)) {
		h.f.data = h.f.data[:size]
	} else {
		h.f.data = append(h.f.data, make([]byte, size-int64(len(h.f.data)))...)
	}
	return nil
}

func (h *memHandle) Size() (int64, error) {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	return int64(len(h.f.data)), nil
}

func (h *memHandle) Close() error {
	waitOn(h.fs.closeHold.Load())
	return nil
}
