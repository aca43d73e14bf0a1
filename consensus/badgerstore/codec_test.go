package badgerstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		log  raft.Log
	}{
		{"zero", raft.Log{}},
		{"full", *mkLog(42)},
		{"nil data, empty extensions", raft.Log{Index: 1, Term: 1, Extensions: []byte{}}},
		{"empty data, nil extensions", raft.Log{Index: 1, Term: 1, Data: []byte{}}},
		{"max index and term", raft.Log{Index: math.MaxUint64, Term: math.MaxUint64, Type: raft.LogConfiguration}},
		{"unknown type kept", raft.Log{Index: 7, Type: raft.LogType(200)}},
		{"nanoseconds", raft.Log{Index: 3, AppendedAt: time.Unix(1, 999999999)}},
		{"before 1970", raft.Log{Index: 3, AppendedAt: time.Date(1900, 1, 2, 3, 4, 5, 6, time.UTC)}},
		{"far future", raft.Log{Index: 3, AppendedAt: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}},
		{"large data", raft.Log{Index: 9, Data: bytes.Repeat([]byte{0xab}, 100000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := appendLog(nil, &tt.log)
			if len(enc) > encodedLen(&tt.log) {
				t.Fatalf("encoded %d bytes, bound %d", len(enc), encodedLen(&tt.log))
			}
			var got raft.Log
			if err := decodeLog(enc, &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !logsEqual(&got, &tt.log) {
				t.Fatalf("round trip: got %+v, want %+v", got, tt.log)
			}
		})
	}
}

func TestCodecRejectsMalformed(t *testing.T) {
	valid := appendLog(nil, mkLog(5))
	withFlags := func(flags byte, rest ...byte) []byte {
		return append([]byte{codecVersion1, flags, 0}, rest...)
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"short", []byte{codecVersion1, 0}},
		{"version 0", append([]byte{0}, valid[1:]...)},
		{"version 2", append([]byte{2}, valid[1:]...)},
		{"unknown flag", withFlags(0x80, 1, 1, 0, 0)},
		{"truncated", valid[:len(valid)-1]},
		{"trailing byte", append(append([]byte{}, valid...), 0)},
		{"no index", withFlags(0)},
		{"overlong varint", withFlags(0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)},
		{"data length beyond input", withFlags(flagData, 1, 1, 5, 'a')},
		{"huge data length", append(withFlags(flagData, 1, 1), binary.AppendUvarint(nil, math.MaxUint64)...)},
		{"nil data with length", withFlags(0, 1, 1, 1, 'a', 0)},
		{"nil extensions with length", withFlags(0, 1, 1, 0, 1, 'a')},
		{"nanoseconds out of range", append(withFlags(flagAppendedAt, 1, 1, 2), append(binary.AppendUvarint(nil, 1e9), 0, 0)...)},
		{"flagged zero time", append(append(withFlags(flagAppendedAt, 1, 1), binary.AppendVarint(nil, time.Time{}.Unix())...), 0, 0, 0)},
		{"missing timestamp", withFlags(flagAppendedAt, 1, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l raft.Log
			err := decodeLog(tt.in, &l)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decode(%x) = %v, want ErrCorrupt", tt.in, err)
			}
		})
	}
}

// FuzzDecodeLog checks that the decoder never panics, and that whatever it
// accepts re-encodes to something that decodes to the same entry.
func FuzzDecodeLog(f *testing.F) {
	for _, l := range []*raft.Log{{}, mkLog(1), mkLog(1 << 40), {Index: 1, Data: []byte{}}} {
		f.Add(appendLog(nil, l))
	}
	f.Add([]byte{codecVersion1, flagsKnown, 0xff, 0x80})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		var l raft.Log
		if err := decodeLog(in, &l); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		enc := appendLog(nil, &l)
		var again raft.Log
		if err := decodeLog(enc, &again); err != nil {
			t.Fatalf("re-decode of %x: %v", enc, err)
		}
		if !logsEqual(&l, &again) {
			t.Fatalf("re-decode differs: %+v vs %+v", l, again)
		}
	})
}

// FuzzCodecRoundTrip encodes entries built from fuzzed fields.
func FuzzCodecRoundTrip(f *testing.F) {
	f.Add(uint64(1), uint64(1), uint8(0), []byte("data"), []byte(nil), int64(0), int64(0))
	f.Add(uint64(math.MaxUint64), uint64(0), uint8(5), []byte{}, []byte("x"), int64(-1e12), int64(999999999))
	f.Fuzz(func(t *testing.T, index, term uint64, typ uint8, data, ext []byte, sec, nsec int64) {
		in := raft.Log{Index: index, Term: term, Type: raft.LogType(typ), Data: data, Extensions: ext}
		if sec != 0 || nsec != 0 {
			in.AppendedAt = time.Unix(sec, nsec)
		}
		var out raft.Log
		if err := decodeLog(appendLog(nil, &in), &out); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !logsEqual(&in, &out) {
			t.Fatalf("got %+v, want %+v", out, in)
		}
	})
}
