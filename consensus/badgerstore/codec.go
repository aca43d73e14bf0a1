package badgerstore

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/hashicorp/raft"
)

// codecVersion1 is the first byte of every encoded log entry. A decoder
// refuses any other value, so a future format change bumps this number and
// keeps a decoder for the old one.
const codecVersion1 = 1

// Flag bits of the second byte of an encoded entry.
const (
	flagAppendedAt = 1 << iota // AppendedAt is present (not the zero time)
	flagData                   // Data is non-nil (distinguishes nil from empty)
	flagExtensions             // Extensions is non-nil
	flagsKnown     = flagAppendedAt | flagData | flagExtensions
)

// maxHeaderLen bounds the fixed part of an encoding: version, flags, type,
// four uvarints of at most 10 bytes each (index, term, data and extension
// lengths) and the timestamp (varint seconds + uvarint nanoseconds).
const maxHeaderLen = 3 + 4*binary.MaxVarintLen64 + binary.MaxVarintLen64 + binary.MaxVarintLen32

// encodedLen returns an upper bound of the encoded size of l.
func encodedLen(l *raft.Log) int {
	return maxHeaderLen + len(l.Data) + len(l.Extensions)
}

// appendLog appends the version 1 encoding of l to dst and returns the
// extended slice. Layout:
//
//	byte    version (1)
//	byte    flags (appendedAt | data non-nil | extensions non-nil)
//	byte    type (raft.LogType)
//	uvarint index
//	uvarint term
//	[varint seconds, uvarint nanoseconds]   if flagAppendedAt (Unix time)
//	uvarint len(data), data bytes
//	uvarint len(extensions), extension bytes
func appendLog(dst []byte, l *raft.Log) []byte {
	var flags byte
	if !l.AppendedAt.IsZero() {
		flags |= flagAppendedAt
	}
	if l.Data != nil {
		flags |= flagData
	}
	if l.Extensions != nil {
		flags |= flagExtensions
	}
	dst = append(dst, codecVersion1, flags, byte(l.Type))
	dst = binary.AppendUvarint(dst, l.Index)
	dst = binary.AppendUvarint(dst, l.Term)
	if flags&flagAppendedAt != 0 {
		dst = binary.AppendVarint(dst, l.AppendedAt.Unix())
		dst = binary.AppendUvarint(dst, uint64(l.AppendedAt.Nanosecond()))
	}
	dst = binary.AppendUvarint(dst, uint64(len(l.Data)))
	dst = append(dst, l.Data...)
	dst = binary.AppendUvarint(dst, uint64(len(l.Extensions)))
	dst = append(dst, l.Extensions...)
	return dst
}

// decodeLog decodes a version 1 encoding into l. Data and Extensions alias
// buf: the caller must hand over a buffer it will not modify. It returns an
// error wrapping ErrCorrupt for any malformed input: unknown version or
// flags, truncated or overlong varints, lengths beyond the input, an
// out-of-range timestamp, or trailing bytes.
func decodeLog(buf []byte, l *raft.Log) error {
	if len(buf) < 3 {
		return fmt.Errorf("%w: entry of %d bytes is too short", ErrCorrupt, len(buf))
	}
	if buf[0] != codecVersion1 {
		return fmt.Errorf("%w: unknown encoding version %d", ErrCorrupt, buf[0])
	}
	flags := buf[1]
	if flags&^flagsKnown != 0 {
		return fmt.Errorf("%w: unknown flags %#x", ErrCorrupt, flags)
	}
	d := decoder{buf: buf[3:]}
	out := raft.Log{Type: raft.LogType(buf[2])}
	out.Index = d.uvarint("index")
	out.Term = d.uvarint("term")
	if flags&flagAppendedAt != 0 {
		sec := d.varint("appended-at seconds")
		nsec := d.uvarint("appended-at nanoseconds")
		if d.err == nil && nsec >= uint64(time.Second) {
			d.err = fmt.Errorf("%w: appended-at nanoseconds %d out of range", ErrCorrupt, nsec)
		}
		if d.err == nil {
			out.AppendedAt = time.Unix(sec, int64(nsec))
			if out.AppendedAt.IsZero() {
				// The encoder never sets the flag for the zero time.
				d.err = fmt.Errorf("%w: appended-at flag set on the zero time", ErrCorrupt)
			}
		}
	}
	out.Data = d.bytes("data", flags&flagData != 0)
	out.Extensions = d.bytes("extensions", flags&flagExtensions != 0)
	if d.err != nil {
		return d.err
	}
	if len(d.buf) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.buf))
	}
	*l = out
	return nil
}

// decoder reads varints and length-prefixed byte strings, remembering the
// first error so that callers check once.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad %s varint", ErrCorrupt, what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad %s varint", ErrCorrupt, what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// bytes reads a length-prefixed string. present is the flag telling a nil
// slice from an empty one; a nil slice must have length zero.
func (d *decoder) bytes(what string, present bool) []byte {
	n := d.uvarint(what + " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) || n > math.MaxInt {
		d.err = fmt.Errorf("%w: %s length %d exceeds the %d bytes left", ErrCorrupt, what, n, len(d.buf))
		return nil
	}
	if !present {
		if n != 0 {
			d.err = fmt.Errorf("%w: nil %s with length %d", ErrCorrupt, what, n)
		}
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}
