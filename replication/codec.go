package replication

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// encoder appends the primitive fields of the binary formats used by
// commands, results, records and snapshots: unsigned/signed varints and
// uvarint-length-prefixed byte strings.
type encoder struct{ b []byte }

func (e *encoder) byte1(v byte)     { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) time(t time.Time) { e.varint(timeToNanos(t)) }
func (e *encoder) bool1(v bool)     { e.byte1(b2u(v)) }
func (e *encoder) fixed64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) raw(p []byte)     { e.b = append(e.b, p...) }
func (e *encoder) strs(ss [][]byte) {
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.bytes(s)
	}
}

func b2u(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// timeToNanos maps the zero time to 0 so that it survives a round trip.
func timeToNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func nanosToTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// decoder reads what encoder wrote. The first error sticks; every later
// read returns a zero value, so callers check err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, a ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
	}
}

func (d *decoder) byte1() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bool1() bool {
	switch d.byte1() {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("bad boolean")
		return false
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) fixed64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail("truncated")
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// bytes returns a sub-slice of the input (no copy) of at most max bytes.
func (d *decoder) bytes(max int) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(max) || n > uint64(len(d.b)) {
		d.fail("length %d out of range", n)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str(max int) string { return string(d.bytes(max)) }

func (d *decoder) time() time.Time { return nanosToTime(d.varint()) }

// list reads a count-prefixed list of byte strings, copying each.
func (d *decoder) list(maxItems, maxItem int) [][]byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(maxItems) || n > uint64(len(d.b)) {
		d.fail("list length %d out of range", n)
		return nil
	}
	out := make([][]byte, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		out = append(out, append([]byte(nil), d.bytes(maxItem)...))
	}
	return out
}

// done fails if input remains: every format is exact.
func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return d.err
}

// maxInt is used as "no item bound" where the outer length already bounds it.
const maxInt = math.MaxInt
