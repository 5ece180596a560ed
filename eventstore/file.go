package eventstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SyncPolicy says when the file store makes appends durable with fsync.
//
// Every policy writes each record to the operating system before Append
// returns, so an acknowledged append survives the crash of the process
// (kill -9) under all of them. The policies differ on a crash of the machine
// (power loss, kernel panic):
type SyncPolicy uint8

const (
	// SyncAlways fsyncs every append (and Trim and Delete) before it
	// returns: nothing acknowledged is lost, even on power loss. Concurrent
	// appends share an fsync (group commit), and readers see an event only
	// once it is durable. The default.
	SyncAlways SyncPolicy = iota
	// SyncInterval fsyncs in the background every FileOptions.SyncEvery: a
	// machine crash loses at most that much acknowledged history.
	SyncInterval
	// SyncNever leaves flushing to the operating system (and to Close): a
	// machine crash may lose any amount of recent history.
	SyncNever
)

func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNever:
		return "never"
	}
	return "SyncPolicy(" + strconv.Itoa(int(p)) + ")"
}

// FileOptions configure [OpenFile].
type FileOptions struct {
	Options

	// Sync is the durability policy; the zero value is SyncAlways.
	Sync SyncPolicy
	// SyncEvery is the SyncInterval period. Default 100ms.
	SyncEvery time.Duration
	// SegmentBytes is the size at which the log rolls to a new segment
	// file. Default 64 MiB.
	SegmentBytes int64
	// MaxLogBytes bounds the log on disk: past it, the oldest segments are
	// removed whole and their events evicted (EvictBytes). Default 1 GiB.
	// Segments are also removed whole once all their events left the store,
	// or once all their events are older than Limits.MaxAge.
	MaxLogBytes int64
	// Logger, if set, receives recovery and retention notices.
	Logger *slog.Logger
}

// Defaults for [FileOptions].
const (
	DefaultSyncEvery    = 100 * time.Millisecond
	DefaultSegmentBytes = 64 << 20
	DefaultMaxLogBytes  = 1 << 30
)

// Recovery reports what [OpenFile] found in the log.
type Recovery struct {
	Segments       int   // segment files read
	Records        int   // valid records replayed
	TruncatedBytes int64 // bytes cut from torn or corrupt segment tails
	CorruptFiles   int   // segment files with an unreadable header, set aside as *.corrupt
	Last           ID    // the newest ID found; new IDs are after it
}

// File is the durable [Store]: an append-only log of every stream's
// appends, trims and deletes, split into segment files, with CRC-checked
// records. OpenFile replays the log into the same in-memory index the
// [Memory] store uses, so reads and Follow cost what they cost there, and the
// events held are bounded by [Limits] as there (File keeps held events in
// memory; the log is for durability).
//
// A torn tail left by a crash is detected by its CRC or framing and cut, so
// it is never served. The ID generator resumes after the newest ID recovered,
// so IDs keep increasing across restarts.
//
// Only one File may have a directory open at a time: OpenFile takes an
// advisory lock (flock) on dir/LOCK, so a second OpenFile of the same
// directory, in any process, fails until the first is closed or its process
// dies.
type File struct {
	c   core
	dir string
	fo  FileOptions

	// Guarded by c.mu.
	segs   []*segment // oldest first; the last one is active
	active *os.File
	buf    []byte
	dirty  bool  // written since the last fsync
	failed error // sticky: the log can no longer be appended to safely
	// SyncAlways group commit: appends written to the log but not yet
	// fsynced wait in pending (in ID order) and become visible once a
	// leader's fsync covers them.
	written, synced uint64
	pending         []pendingEvent
	rolled          bool // a segment was sealed; retention is due

	syncMu   sync.Mutex // held by the group-commit leader across its fsync
	recovery Recovery
	lock     *os.File // holds the directory lock until Close
	stop     chan struct{}
	wg       sync.WaitGroup
	closeErr error
}

var _ Store = (*File)(nil)

type pendingEvent struct {
	seq    uint64
	stream string
	id     ID
	typ    string
	data   []byte
}

type segment struct {
	seq  uint64
	path string
	size int64
	last ID // newest event ID in the segment; zero if none
}

const (
	segMagic     = "SKEVLOG1"
	segHeaderLen = 8 + 16 + 4 // magic, generator's last ID when created, CRC-32C
	segExt       = ".seg"
)

// OpenFile opens (creating if needed) the file store in dir and replays its
// log. Close it to stop its background syncer and release the files.
func OpenFile(dir string, opts FileOptions) (*File, error) {
	if opts.SyncEvery <= 0 {
		opts.SyncEvery = DefaultSyncEvery
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.MaxLogBytes <= 0 {
		opts.MaxLogBytes = DefaultMaxLogBytes
	}
	if opts.Sync > SyncNever {
		return nil, fmt.Errorf("eventstore: unknown sync policy %d", opts.Sync)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	f := &File{dir: dir, fo: opts, stop: make(chan struct{}), lock: lock}
	f.c.init(opts.Options)
	if err := f.recover(); err != nil {
		if f.active != nil {
			_ = f.active.Close()
		}
		_ = lock.Close()
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	f.c.persist = f
	if opts.Sync == SyncInterval {
		f.wg.Add(1)
		go f.syncLoop()
	}
	return f, nil
}

func (f *File) logf(msg string, args ...any) {
	if f.fo.Logger != nil {
		f.fo.Logger.Warn(msg, args...)
	}
}

// recover replays every segment into the index and opens the active one.
func (f *File) recover() error {
	names, err := filepath.Glob(filepath.Join(f.dir, "*"+segExt))
	if err != nil {
		return err
	}
	sort.Strings(names)
	var l evictList // evictions while replaying repeat history; not reported
	var last ID
	for _, path := range names {
		seq, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(path), segExt), 16, 64)
		if err != nil {
			continue // not ours
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f.recovery.Segments++
		hdrLast, ok := decodeSegHeader(b)
		if !ok && len(b) < segHeaderLen && path == names[len(names)-1] {
			// A crash while the newest segment was being created.
			f.recovery.TruncatedBytes += int64(len(b))
			if err := os.Remove(path); err != nil {
				return err
			}
			continue
		}
		if !ok {
			f.recovery.CorruptFiles++
			f.logf("eventstore: segment header unreadable; set aside", "path", path)
			if err := os.Rename(path, path+".corrupt"); err != nil {
				return err
			}
			continue
		}
		f.c.gen.Observe(hdrLast)
		seg := &segment{seq: seq, path: path}
		off := segHeaderLen
		for off < len(b) {
			r, n, err := decodeRecord(b[off:])
			if err == nil && r.kind == recAppend && !last.Less(r.id) {
				err = errBadRecord // IDs only increase in the log
			}
			if err != nil {
				break
			}
			f.apply(r, &l)
			if r.kind == recAppend {
				last, seg.last = r.id, r.id
			}
			f.recovery.Records++
			off += n
		}
		if off < len(b) {
			f.recovery.TruncatedBytes += int64(len(b) - off)
			f.logf("eventstore: cutting torn log tail", "path", path, "offset", off, "bytes", len(b)-off)
			if err := os.Truncate(path, int64(off)); err != nil {
				return err
			}
		}
		seg.size = int64(off)
		f.segs = append(f.segs, seg)
	}
	f.c.gen.Observe(last)
	f.recovery.Last = f.c.gen.Last()
	// Age out what expired while the store was closed, then start counting.
	now := f.c.nowMs()
	for _, s := range f.c.streams {
		f.c.expire(s, now, &l)
	}
	f.c.appended, f.c.evicted, f.c.evictedBy = 0, 0, [EvictDelete + 1]uint64{}

	if n := len(f.segs); n > 0 && f.segs[n-1].size < f.fo.SegmentBytes {
		a, err := os.OpenFile(f.segs[n-1].path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		f.active = a
	} else if err := f.roll(); err != nil {
		return err
	}
	var rl evictList
	f.retain(&rl)
	f.c.report(&rl)
	return nil
}

// apply replays one record into the index. Caller holds c.mu or owns f.
func (f *File) apply(r record, l *evictList) {
	c := &f.c
	switch r.kind {
	case recAppend:
		// Copy: the data must not pin the whole segment buffer.
		c.insert(r.stream, r.id, r.typ, append([]byte(nil), r.data...), r.id.Ms, l)
	case recTrim:
		if s := c.streams[r.stream]; s != nil {
			c.trimLocked(s, r.id, EvictTrim, l)
		}
	case recDelete:
		if s := c.streams[r.stream]; s != nil {
			c.drop(s, EvictDelete, l)
		}
	}
}

func encodeSegHeader(last ID) []byte {
	b := make([]byte, 0, segHeaderLen)
	b = append(b, segMagic...)
	b = binary.LittleEndian.AppendUint64(b, last.Ms)
	b = binary.LittleEndian.AppendUint64(b, last.Seq)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

func decodeSegHeader(b []byte) (ID, bool) {
	if len(b) < segHeaderLen || string(b[:8]) != segMagic ||
		crc32.Checksum(b[:24], crcTable) != binary.LittleEndian.Uint32(b[24:]) {
		return ID{}, false
	}
	return ID{Ms: binary.LittleEndian.Uint64(b[8:]), Seq: binary.LittleEndian.Uint64(b[16:])}, true
}

// roll seals the active segment and starts a new one. Caller holds c.mu.
func (f *File) roll() error {
	if f.active != nil {
		if f.fo.Sync != SyncNever {
			if err := f.active.Sync(); err != nil {
				return err
			}
		}
		if err := f.active.Close(); err != nil {
			return err
		}
		f.active = nil
	}
	var seq uint64
	if n := len(f.segs); n > 0 {
		seq = f.segs[n-1].seq + 1
	}
	path := filepath.Join(f.dir, fmt.Sprintf("%016x%s", seq, segExt))
	a, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := a.Write(encodeSegHeader(f.c.gen.Last())); err != nil {
		_ = a.Close()
		_ = os.Remove(path)
		return err
	}
	if f.fo.Sync != SyncNever {
		if err := a.Sync(); err != nil {
			_ = a.Close()
			return err
		}
		syncDir(f.dir)
	}
	f.active = a
	f.dirty = false
	f.segs = append(f.segs, &segment{seq: seq, path: path, size: segHeaderLen})
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// write appends one encoded record to the active segment. Caller holds c.mu.
func (f *File) write(kind byte, id ID, stream, typ string, data []byte) error {
	if f.failed != nil {
		return f.failed
	}
	seg := f.segs[len(f.segs)-1]
	f.buf = appendRecord(f.buf[:0], kind, id, stream, typ, data)
	if _, err := f.active.Write(f.buf); err != nil {
		// Cut a partial record so that later records stay readable.
		if terr := f.active.Truncate(seg.size); terr != nil {
			f.failed = fmt.Errorf("%w: log write failed and could not be cut: %w", ErrUnavailable, err)
			return f.failed
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	seg.size += int64(len(f.buf))
	if kind == recAppend {
		seg.last = id
	}
	if f.fo.Sync == SyncAlways && kind != recAppend {
		// Appends are group-committed by waitDurable; trims and deletes
		// are rare and synced here.
		if err := f.active.Sync(); err != nil {
			// After a failed fsync the page cache state is unknown.
			f.failed = fmt.Errorf("%w: fsync: %w", ErrUnavailable, err)
			return f.failed
		}
	}
	f.dirty = true
	if seg.size >= f.fo.SegmentBytes {
		if err := f.roll(); err != nil {
			f.failed = fmt.Errorf("%w: rolling segment: %w", ErrUnavailable, err)
			// The record itself is written (and synced under SyncAlways).
		}
		f.rolled = true
	}
	return nil
}

func (f *File) logAppend(stream string, id ID, typ string, data []byte) error {
	return f.write(recAppend, id, stream, typ, data)
}

// settle fsyncs and makes visible every pending append. Caller holds c.mu.
func (f *File) settle(l *evictList) error {
	if len(f.pending) == 0 {
		return nil
	}
	if f.failed != nil {
		return f.failed
	}
	if err := f.active.Sync(); err != nil {
		f.failed = fmt.Errorf("%w: fsync: %w", ErrUnavailable, err)
		return f.failed
	}
	f.drain(f.written, l)
	return nil
}

// drain inserts the pending appends up to seq target into the index. Caller
// holds c.mu.
func (f *File) drain(target uint64, l *evictList) {
	k := 0
	for ; k < len(f.pending) && f.pending[k].seq <= target; k++ {
		p := &f.pending[k]
		f.c.insert(p.stream, p.id, p.typ, p.data, p.id.Ms, l)
	}
	n := copy(f.pending, f.pending[k:])
	clear(f.pending[n:])
	f.pending = f.pending[:n]
	f.synced = max(f.synced, target)
}

// appendDurable is Append under SyncAlways: the record is written under the
// lock (which orders the log), then the caller waits for an fsync that
// covers it; one fsync serves every append written before it started (group
// commit). The event becomes visible to readers only once durable.
func (f *File) appendDurable(ctx context.Context, stream, typ string, data []byte) (Event, error) {
	c := &f.c
	if err := c.check(ctx, stream); err != nil {
		return Event{}, err
	}
	if err := c.checkSize(stream, typ, data); err != nil {
		return Event{}, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return Event{}, ErrClosed
	}
	id := c.gen.Next(c.opts.Now())
	if err := f.write(recAppend, id, stream, typ, data); err != nil {
		c.mu.Unlock()
		return Event{}, err
	}
	data = append([]byte(nil), data...)
	f.written++
	seq := f.written
	f.pending = append(f.pending, pendingEvent{seq: seq, stream: stream, id: id, typ: typ, data: data})
	c.mu.Unlock()
	if err := f.waitDurable(seq); err != nil {
		return Event{}, err
	}
	return Event{Stream: stream, ID: id, Type: typ, Data: data, Time: id.Time()}, nil
}

// waitDurable returns once the append with sequence seq is fsynced and
// visible, fsyncing itself if no one else has.
func (f *File) waitDurable(seq uint64) error {
	c := &f.c
	f.syncMu.Lock()
	defer f.syncMu.Unlock()
	c.mu.Lock()
	if f.synced >= seq {
		c.mu.Unlock()
		return nil
	}
	if f.failed != nil {
		c.mu.Unlock()
		return f.failed
	}
	a, target := f.active, f.written
	c.mu.Unlock()

	err := a.Sync() // without c.mu: appends and reads go on
	var l evictList
	c.mu.Lock()
	if err != nil && !errors.Is(err, os.ErrClosed) {
		f.failed = fmt.Errorf("%w: fsync: %w", ErrUnavailable, err)
	}
	// os.ErrClosed: a roll or Close closed the file, after syncing it.
	if f.failed != nil {
		c.mu.Unlock()
		return f.failed
	}
	f.drain(target, &l)
	c.mu.Unlock()
	c.report(&l)
	return nil
}

func (f *File) logTrim(stream string, minID ID) error {
	return f.write(recTrim, minID, stream, "", nil)
}

func (f *File) logDelete(stream string) error {
	return f.write(recDelete, ID{}, stream, "", nil)
}

// retain removes whole segments by retention rules. Caller holds c.mu (or
// owns f during recovery).
func (f *File) retain(l *evictList) {
	c := &f.c
	minHeld := Tail
	if len(f.pending) > 0 {
		minHeld = f.pending[0].id // written, not yet visible: keep its segment
	}
	for _, s := range c.streams {
		if s.n > 0 && s.at(0).id.Less(minHeld) {
			minHeld = s.at(0).id
		}
	}
	age := uint64(c.lim.MaxAge.Milliseconds())
	now := c.nowMs()
	var total int64
	for _, s := range f.segs {
		total += s.size
	}
	for len(f.segs) > 1 {
		seg := f.segs[0]
		var reason EvictReason
		switch {
		case seg.last.Less(minHeld):
			// Nothing in it is held any more.
		case now >= age && seg.last.Ms < now-age:
			reason = EvictAge
		case total > f.fo.MaxLogBytes:
			reason = EvictBytes
		default:
			return
		}
		if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			f.logf("eventstore: removing segment", "path", seg.path, "err", err)
			return
		}
		if reason != 0 {
			for _, s := range c.streams {
				for s.n > 0 && !seg.last.Less(s.at(0).id) {
					c.evictOldest(s, reason, l)
				}
			}
		}
		total -= seg.size
		f.segs = f.segs[1:]
	}
}

func (f *File) syncLoop() {
	defer f.wg.Done()
	t := time.NewTicker(f.fo.SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		// fsync without the lock, so appends go on meanwhile. A segment
		// that rolls concurrently is synced by the roll itself.
		f.c.mu.Lock()
		a := f.active
		due := f.dirty && a != nil && f.failed == nil
		f.dirty = false
		f.c.mu.Unlock()
		if !due {
			continue
		}
		if err := a.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
			f.c.mu.Lock()
			f.failed = fmt.Errorf("%w: fsync: %w", ErrUnavailable, err)
			f.c.mu.Unlock()
			f.logf("eventstore: fsync failed; appends now fail", "err", err)
		}
	}
}

// Recovery reports what OpenFile found in the log.
func (f *File) Recovery() Recovery { return f.recovery }

// Dir returns the store's directory.
func (f *File) Dir() string { return f.dir }

// Append implements [Store]. Under SyncAlways it returns after the record is
// on stable storage.
func (f *File) Append(ctx context.Context, stream, typ string, data []byte) (Event, error) {
	var ev Event
	var err error
	if f.fo.Sync == SyncAlways {
		ev, err = f.appendDurable(ctx, stream, typ, data)
	} else {
		ev, err = f.c.append(ctx, stream, typ, data)
	}
	if err == nil {
		f.afterWrite()
	}
	return ev, err
}

// afterWrite applies segment retention after a roll.
func (f *File) afterWrite() {
	f.c.mu.Lock()
	if !f.rolled {
		f.c.mu.Unlock()
		return
	}
	f.rolled = false
	var l evictList
	f.retain(&l)
	f.c.mu.Unlock()
	f.c.report(&l)
}

// ReadAfter implements [Store].
func (f *File) ReadAfter(ctx context.Context, stream string, after ID, limit int) ([]Event, error) {
	return f.c.readAfter(ctx, stream, after, limit)
}

// ReadSince implements [Store].
func (f *File) ReadSince(ctx context.Context, stream string, since time.Time, limit int) ([]Event, error) {
	return f.c.readSince(ctx, stream, since, limit)
}

// Follow implements [Store].
func (f *File) Follow(ctx context.Context, stream string, after ID) iter.Seq2[Event, error] {
	return f.c.follow(ctx, stream, after)
}

// Trim implements [Store]. The trim is logged, so it survives a restart.
func (f *File) Trim(ctx context.Context, stream string, minID ID) (int, error) {
	n, err := f.c.trim(ctx, stream, minID)
	if err == nil {
		f.afterWrite()
	}
	return n, err
}

// Delete implements [Store]. The delete is logged, so it survives a restart.
func (f *File) Delete(ctx context.Context, stream string) error {
	err := f.c.delete(ctx, stream)
	if err == nil {
		f.afterWrite()
	}
	return err
}

// Stats implements [Store].
func (f *File) Stats() Stats { return f.c.stats() }

// Close ends followers, stops the syncer, fsyncs the log (under every
// policy) and closes it. It returns the first error of the fsync or close.
func (f *File) Close() error {
	if !f.c.close() {
		return nil
	}
	close(f.stop)
	f.wg.Wait()
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	if f.active != nil {
		if err := f.active.Sync(); err != nil {
			f.closeErr = fmt.Errorf("%w: %w", ErrUnavailable, err)
			f.failed = f.closeErr // pending appends must not report success
		}
		if err := f.active.Close(); err != nil && f.closeErr == nil {
			f.closeErr = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		f.active = nil
	}
	_ = f.lock.Close() // releases the directory lock
	return f.closeErr
}

var _ io.Closer = (*File)(nil)

var errDirLocked = errors.New("eventstore: directory is in use by another File")
