package replication

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"
)

// Snapshot stream format (version 1):
//
//	"PTSN" version(1)
//	frame*   where frame = kind(1) uvarint(len) payload crc32c(kind,len,payload)(4, big-endian)
//	  kindHeader  payload: store id, applied index
//	  kindPairs   payload: uvarint n, then n × (key, value), each uvarint-length-prefixed
//	  kindEnd     payload: uvarint pair count, uvarint frame count
//
// Every Badger key/value is copied as is: template ciphertext stays
// ciphertext. The stream is written and read frame by frame, never held
// whole in memory.
const (
	snapMagic   = "PTSN"
	snapVersion = 1

	kindHeader = 1
	kindPairs  = 2
	kindEnd    = 3

	snapFrameTarget = 64 << 10        // pairs per frame up to about this size
	snapMaxFrame    = maxCommandBytes // one frame holds at least one pair
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Snapshot captures the state as of the last applied entry: a Badger read
// transaction, cheap to take. It also syncs Badger, so that the FSM on
// disk is never behind a snapshot raft may persist (the premise of
// skipping replayed entries with NoSnapshotRestoreOnStart).
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return nil, ErrClosed
	}
	if err := f.db.db.Sync(); err != nil {
		return nil, fmt.Errorf("snapshot: sync: %w", err)
	}
	h := f.db
	h.refs.Add(1)
	return &fsmSnapshot{f: f, h: h, txn: h.db.NewTransaction(false), applied: f.applied.Load()}, nil
}

type fsmSnapshot struct {
	f       *FSM
	h       *handle
	txn     *badger.Txn
	applied uint64
	done    bool
}

// Persist streams the captured state to sink and closes it (or cancels it
// on error).
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	err := s.write(sink)
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("persist snapshot: close sink: %w", err)
	}
	return nil
}

func (s *fsmSnapshot) write(w io.Writer) error {
	if s.done {
		return errors.New("snapshot already released")
	}
	fw := &frameWriter{w: bufio.NewWriterSize(w, 256<<10)}
	fw.raw(append([]byte(snapMagic), snapVersion))
	var hdr encoder
	hdr.str(s.f.cfg.StoreID)
	hdr.uvarint(s.applied)
	fw.frame(kindHeader, hdr.b)

	it := s.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100})
	defer it.Close()
	var pairs, n uint64
	var body encoder
	flush := func() {
		if n == 0 {
			return
		}
		var e encoder
		e.uvarint(n)
		e.raw(body.b)
		fw.frame(kindPairs, e.b)
		body.b, n = body.b[:0], 0
	}
	for it.Rewind(); it.Valid() && fw.err == nil; it.Next() {
		item := it.Item()
		if err := item.Value(func(v []byte) error {
			body.bytes(item.Key())
			body.bytes(v)
			return nil
		}); err != nil {
			return err
		}
		n++
		pairs++
		if len(body.b) >= snapFrameTarget {
			flush()
		}
	}
	flush()
	var end encoder
	end.uvarint(pairs)
	end.uvarint(fw.frames)
	fw.frame(kindEnd, end.b)
	if fw.err != nil {
		return fw.err
	}
	return fw.w.Flush()
}

// Release ends the read transaction. Safe to call more than once.
func (s *fsmSnapshot) Release() {
	if s.done {
		return
	}
	s.done = true
	s.txn.Discard()
	s.h.refs.Done()
}

type frameWriter struct {
	w      *bufio.Writer
	frames uint64
	err    error
}

func (fw *frameWriter) raw(p []byte) {
	if fw.err == nil {
		_, fw.err = fw.w.Write(p)
	}
}

func (fw *frameWriter) frame(kind byte, payload []byte) {
	hdr := binary.AppendUvarint([]byte{kind}, uint64(len(payload)))
	crc := crc32.Update(crc32.Update(0, crcTable, hdr), crcTable, payload)
	fw.raw(hdr)
	fw.raw(payload)
	fw.raw(binary.BigEndian.AppendUint32(nil, crc))
	if kind != kindEnd {
		fw.frames++
	}
}

// Restore replaces the whole state with a snapshot stream: it loads the
// stream into a new database generation, verifies every checksum and the
// trailer, syncs, switches CURRENT to it, swaps it in, deletes the old
// generation and then calls Observer.Restored. On any error the old state
// is kept untouched.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	f.mu.RLock()
	closed, next := f.closed, f.gen+1
	f.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	dir := genDir(f.cfg.Dir, next)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	db, err := f.openBadger(next)
	if err != nil {
		return fmt.Errorf("restore: open: %w", err)
	}
	discard := func(err error) error {
		_ = db.Close()
		_ = os.RemoveAll(dir)
		return fmt.Errorf("restore: %w", err)
	}
	applied, err := f.load(db, rc)
	if err != nil {
		return discard(err)
	}
	if err := db.Sync(); err != nil {
		return discard(err)
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return discard(ErrClosed)
	}
	if err := writeCurrent(f.cfg.Dir, next); err != nil {
		f.mu.Unlock()
		return discard(err)
	}
	old, oldGen := f.db, f.gen
	f.db, f.gen = &handle{db: db}, next
	f.mu.Unlock()

	old.refs.Wait()
	if err := old.db.Close(); err != nil {
		f.log.Warn("replication: closing the replaced state", "error", err)
	}
	if err := os.RemoveAll(genDir(f.cfg.Dir, oldGen)); err != nil {
		f.log.Warn("replication: removing the replaced state", "error", err)
	}
	f.stateMu.Lock()
	f.failed = nil
	f.stateMu.Unlock()
	if err := f.loadMeta(); err != nil {
		return f.fail(fmt.Errorf("restore: %w", err))
	}
	f.log.Info("replication: state restored from snapshot", "applied_index", applied, "generation", next)
	if f.obs != nil {
		f.obs.Restored()
	}
	return nil
}

// load reads a snapshot stream into db and returns its applied index.
func (f *FSM) load(db *badger.DB, r io.Reader) (uint64, error) {
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	var applied uint64
	err := readSnapshot(r, func(storeID string, idx uint64) error {
		if storeID != f.cfg.StoreID {
			return fmt.Errorf("%w: snapshot of store %q, this is store %q", ErrInvalid, storeID, f.cfg.StoreID)
		}
		applied = idx
		return nil
	}, func(k, v []byte) error {
		return wb.Set(k, v)
	})
	if err != nil {
		return 0, err
	}
	if err := wb.Flush(); err != nil {
		return 0, err
	}
	return applied, nil
}

// readSnapshot parses a snapshot stream, calling header once and then pair
// for every key/value (slices are not reused). Errors wrap ErrMalformed
// for a bad stream; it never panics.
func readSnapshot(r io.Reader, header func(storeID string, applied uint64) error, pair func(k, v []byte) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	magic := make([]byte, len(snapMagic)+1)
	if _, err := io.ReadFull(br, magic); err != nil {
		return fmt.Errorf("%w: snapshot header: %w", ErrMalformed, err)
	}
	if string(magic[:len(snapMagic)]) != snapMagic {
		return fmt.Errorf("%w: not a palmtill snapshot", ErrMalformed)
	}
	if magic[len(snapMagic)] != snapVersion {
		return fmt.Errorf("%w: snapshot version %d, this kiosk reads %d", ErrMalformed, magic[len(snapMagic)], snapVersion)
	}
	var frames, pairs uint64
	for first := true; ; first = false {
		kind, payload, err := readFrame(br)
		if err != nil {
			return err
		}
		if first != (kind == kindHeader) {
			return fmt.Errorf("%w: snapshot frame %d of kind %d out of place", ErrMalformed, frames, kind)
		}
		d := decoder{b: payload}
		switch kind {
		case kindHeader:
			storeID := d.str(maxIDLen)
			applied := d.uvarint()
			if err := d.done(); err != nil {
				return err
			}
			if err := header(storeID, applied); err != nil {
				return err
			}
		case kindPairs:
			n := d.uvarint()
			if n == 0 || n > uint64(len(payload)) {
				d.fail("pair count %d", n)
			}
			for i := uint64(0); i < n && d.err == nil; i++ {
				k := d.bytes(maxInt)
				v := d.bytes(maxInt)
				if d.err == nil && len(k) == 0 {
					d.fail("empty key")
				}
				if d.err == nil {
					if err := pair(k, v); err != nil {
						return err
					}
				}
			}
			if err := d.done(); err != nil {
				return err
			}
			pairs += n
		case kindEnd:
			wantPairs, wantFrames := d.uvarint(), d.uvarint()
			if err := d.done(); err != nil {
				return err
			}
			if wantPairs != pairs || wantFrames != frames {
				return fmt.Errorf("%w: snapshot trailer counts %d pairs in %d frames, read %d in %d",
					ErrMalformed, wantPairs, wantFrames, pairs, frames)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				return fmt.Errorf("%w: data after the snapshot trailer", ErrMalformed)
			}
			return nil
		default:
			return fmt.Errorf("%w: unknown snapshot frame kind %d", ErrMalformed, kind)
		}
		frames++
	}
}

func readFrame(br *bufio.Reader) (byte, []byte, error) {
	kind, err := br.ReadByte()
	if err != nil {
		return 0, nil, fmt.Errorf("%w: snapshot truncated: %w", ErrMalformed, err)
	}
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: snapshot frame length: %w", ErrMalformed, err)
	}
	if n > snapMaxFrame {
		return 0, nil, fmt.Errorf("%w: snapshot frame of %d bytes", ErrMalformed, n)
	}
	hdr := binary.AppendUvarint([]byte{kind}, n)
	buf := make([]byte, int(n)+4)
	if _, err := io.ReadFull(br, buf); err != nil {
		return 0, nil, fmt.Errorf("%w: snapshot truncated: %w", ErrMalformed, err)
	}
	payload := buf[:n:n]
	crc := crc32.Update(crc32.Update(0, crcTable, hdr), crcTable, payload)
	if binary.BigEndian.Uint32(buf[n:]) != crc {
		return 0, nil, fmt.Errorf("%w: snapshot frame checksum mismatch", ErrMalformed)
	}
	return kind, payload, nil
}
