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
const TemplateVersion = 2

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
	// coarse holds the coarse code: planes 8x8 or 16x16 boards of code
	// bits, then as many of mask bits (see coarse.go).
	coarse []uint64
	// variants are the fine codes of the same image at other poses (see
	// ExtractorConfig.PoseRotations), each with the layout of code/mask.
	variants []variant
}

// variant is the fine code and mask, and the coarse words, of one pose
// variant.
type variant struct {
	code, mask, coarse []uint64
}

// maxVariants is the largest number of pose variants in a template.
const maxVariants = 14

// coarseSide is the side of the coarse boards, from the coarse word count.
func (t *Template) coarseSide() int {
	if len(t.coarse) == 2*t.planes*coarseWords(16) {
		return 16
	}
	return 8
}

// Variants reports the number of pose variants besides the canonical code.
func (t *Template) Variants() int { return len(t.variants) }

// Canonical returns the template without its pose variants (sharing its
// words). Enrolled templates need only their canonical code (a Gallery
// searches the probe's variants against it), so this is what to store for
// enrolment; keep the variants of probes.
func (t *Template) Canonical() *Template { return t.canonical() }

func (t *Template) canonical() *Template {
	if len(t.variants) == 0 {
		return t
	}
	c := *t
	c.variants = nil
	return &c
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
func (t *Template) Size() int {
	return headerLen + (16*len(t.code)+8*len(t.coarse))*(1+len(t.variants)) + trailerLen
}

// compatible reports whether a and b have the same code geometry.
func compatible(a, b *Template) bool {
	return a.rows == b.rows && a.cols == b.cols && a.planes == b.planes && len(a.code) > 0 && len(a.coarse) == len(b.coarse)
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
// rows, cols, planes, number of pose variants V, coarse board side C (8 or
// 16), 2 reserved zero bytes), then 1+V blocks, the canonical pose first,
// each made of, as little-endian uint64, the rows*ceil(planes/2) fine code
// words, as many fine mask words, planes*C*C/64 coarse code words and as many
// coarse mask words; last a CRC-32C
// (Castagnoli) of all that precedes it.
func (t *Template) MarshalBinary() ([]byte, error) {
	if len(t.code) == 0 {
		return nil, fmt.Errorf("marshal empty template: %w", ErrBadTemplate)
	}
	b := make([]byte, 0, t.Size())
	b = append(b, templateMagic[:]...)
	b = append(b, TemplateVersion, byte(t.rows), byte(t.cols), byte(t.planes), byte(len(t.variants)), byte(t.coarseSide()), 0, 0)
	for _, w := range t.code {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	for _, w := range t.mask {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	for _, w := range t.coarse {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	for _, v := range t.variants {
		for _, w := range v.code {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
		for _, w := range v.mask {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
		for _, w := range v.coarse {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
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
	nv, cside := int(b[8]), int(b[9])
	if nv > maxVariants || (cside != 8 && cside != 16) || b[10] != 0 || b[11] != 0 {
		return fmt.Errorf("template variant count %d, coarse side %d or reserved bytes bad: %w", nv, cside, ErrBadTemplate)
	}
	nw := rows * planesWords(planes)
	cw := 2 * planes * coarseWords(cside)
	if want := headerLen + (16*nw+8*cw)*(1+nv) + trailerLen; len(b) != want {
		return fmt.Errorf("template length %d, want %d: %w", len(b), want, ErrBadTemplate)
	}
	body := b[:len(b)-trailerLen]
	if got, want := crc32.Checksum(body, crcTable), binary.LittleEndian.Uint32(b[len(b)-trailerLen:]); got != want {
		return fmt.Errorf("template checksum mismatch: %w", ErrBadTemplate)
	}
	p := body[headerLen:]
	words := func(n int) []uint64 {
		w := make([]uint64, n)
		for i := range w {
			w[i] = binary.LittleEndian.Uint64(p[8*i:])
		}
		p = p[8*n:]
		return w
	}
	code, mask := words(nw), words(nw)
	coarse := words(cw)
	variants := make([]variant, nv)
	for i := range variants {
		c, m := words(nw), words(nw)
		variants[i] = variant{code: c, mask: m, coarse: words(cw)}
	}
	for _, words := range append([][]uint64{coarse}, variantCoarse(variants)...) {
		for i := 0; i < cw/2; i++ {
			if words[i]&^words[cw/2+i] != 0 {
				return fmt.Errorf("template coarse code outside its mask: %w", ErrBadTemplate)
			}
		}
	}
	if !gridOK(code, mask, cols, planes) {
		return fmt.Errorf("template has bits outside its grid or mask: %w", ErrBadTemplate)
	}
	for _, v := range variants {
		if !gridOK(v.code, v.mask, cols, planes) {
			return fmt.Errorf("template variant has bits outside its grid or mask: %w", ErrBadTemplate)
		}
	}
	if nv == 0 {
		variants = nil
	}
	*t = Template{rows: rows, cols: cols, planes: planes, code: code, mask: mask, coarse: coarse, variants: variants}
	return nil
}

func variantCoarse(vs []variant) [][]uint64 {
	out := make([][]uint64, len(vs))
	for i, v := range vs {
		out[i] = v.coarse
	}
	return out
}

// gridOK reports whether mask has no bits outside the grid and code none
// outside mask.
func gridOK(code, mask []uint64, cols, planes int) bool {
	pw := planesWords(planes)
	for i := range code {
		allowed := wordMask(cols, 2*(i%pw)+1 < planes)
		if mask[i]&^allowed != 0 || code[i]&^mask[i] != 0 {
			return false
		}
	}
	return true
}
