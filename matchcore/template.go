package matchcore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/bits"
)

// TemplateVersion is the version of the binary template format written by
// MarshalBinary. UnmarshalBinary rejects every other version. Bump it when
// the format or the meaning of the code bits changes.
const TemplateVersion = 1

// templateMagic starts every serialised template.
var templateMagic = [4]byte{'P', 'L', 'M', 'T'}

const (
	headerLen  = 12 // magic(4) version(1) rows(1) cols(1) planes(1) flags(1) reserved(3)
	trailerLen = 4  // CRC-32C of everything before it
	maxGrid    = 32 // columns are bits of a 32-bit half word
	maxPlanes  = 16
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Template is the binary code of one palm image: for every point of a
// rows x cols grid and every code plane (one per filter orientation) one
// code bit, and one mask bit telling whether that code bit is reliable.
//
// Layout: each grid row is planesWords(planes) 64-bit words; word w holds
// plane 2w in bits 0..31 and plane 2w+1 in bits 32..63, bit c of a half
// being grid column c. Code bits whose mask bit is 0 are always 0.
//
// A Template is immutable once built and safe for concurrent reads. The zero
// value is empty and compares as 0 with everything.
type Template struct {
	rows, cols, planes int
	code               []uint64
	mask               []uint64
}

// planesWords is the number of 64-bit words per grid row.
func planesWords(planes int) int { return (planes + 1) / 2 }

// Geometry reports the grid size and number of code planes.
func (t *Template) Geometry() (rows, cols, planes int) { return t.rows, t.cols, t.planes }

// ValidBits reports how many code bits are marked reliable.
func (t *Template) ValidBits() int {
	n := 0
	for _, m := range t.mask {
		n += bits.OnesCount64(m)
	}
	return n
}

// Size is the length in bytes of the MarshalBinary encoding.
func (t *Template) Size() int { return headerLen + 16*len(t.code) + trailerLen }

// compatible reports whether a and b have the same code geometry.
func compatible(a, b *Template) bool {
	return a.rows == b.rows && a.cols == b.cols && a.planes == b.planes && len(a.code) > 0
}

// colMask is the mask of the valid bits of one word for cols columns and the
// given number of planes in this word (1 or 2).
func wordMask(cols int, twoPlanes bool) uint64 {
	m := uint64(1)<<uint(cols) - 1
	if twoPlanes {
		m |= m << 32
	}
	return m
}

// MarshalBinary encodes the template: a 12-byte header ("PLMT", version,
// rows, cols, planes, flags, 3 reserved zero bytes), the code words and the
// mask words as little-endian uint64, and a CRC-32C of all of it.
func (t *Template) MarshalBinary() ([]byte, error) {
	if len(t.code) == 0 {
		return nil, fmt.Errorf("marshal empty template: %w", ErrBadTemplate)
	}
	b := make([]byte, 0, t.Size())
	b = append(b, templateMagic[:]...)
	b = append(b, TemplateVersion, byte(t.rows), byte(t.cols), byte(t.planes), 0, 0, 0, 0)
	for _, w := range t.code {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	for _, w := range t.mask {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
	return b, nil
}

// UnmarshalBinary decodes a template written by MarshalBinary. Malformed,
// truncated, corrupted (CRC mismatch), inconsistent or other-version input
// is rejected with an error wrapping ErrBadTemplate, and t is left unchanged.
func (t *Template) UnmarshalBinary(b []byte) error {
	if len(b) < headerLen+trailerLen {
		return fmt.Errorf("template of %d bytes is truncated: %w", len(b), ErrBadTemplate)
	}
	if [4]byte(b[:4]) != templateMagic {
		return fmt.Errorf("template magic %q: %w", b[:4], ErrBadTemplate)
	}
	if b[4] != TemplateVersion {
		return fmt.Errorf("template version %d, want %d: %w", b[4], TemplateVersion, ErrBadTemplate)
	}
	rows, cols, planes := int(b[5]), int(b[6]), int(b[7])
	if rows < 1 || rows > maxGrid || cols < 1 || cols > maxGrid || planes < 1 || planes > maxPlanes {
		return fmt.Errorf("template geometry %dx%dx%d out of range: %w", rows, cols, planes, ErrBadTemplate)
	}
	if b[8] != 0 || b[9] != 0 || b[10] != 0 || b[11] != 0 {
		return fmt.Errorf("template flags/reserved bytes set: %w", ErrBadTemplate)
	}
	nw := rows * planesWords(planes)
	if want := headerLen + 16*nw + trailerLen; len(b) != want {
		return fmt.Errorf("template length %d, want %d: %w", len(b), want, ErrBadTemplate)
	}
	body := b[:len(b)-trailerLen]
	if got, want := crc32.Checksum(body, crcTable), binary.LittleEndian.Uint32(b[len(b)-trailerLen:]); got != want {
		return fmt.Errorf("template checksum mismatch: %w", ErrBadTemplate)
	}
	code := make([]uint64, nw)
	mask := make([]uint64, nw)
	p := body[headerLen:]
	for i := range code {
		code[i] = binary.LittleEndian.Uint64(p[8*i:])
	}
	p = p[8*nw:]
	for i := range mask {
		mask[i] = binary.LittleEndian.Uint64(p[8*i:])
	}
	pw := planesWords(planes)
	for i := range code {
		w := i % pw
		allowed := wordMask(cols, 2*w+1 < planes)
		if mask[i]&^allowed != 0 || code[i]&^mask[i] != 0 {
			return fmt.Errorf("template has bits outside its grid or mask: %w", ErrBadTemplate)
		}
	}
	*t = Template{rows: rows, cols: cols, planes: planes, code: code, mask: mask}
	return nil
}
