package matchcore

import (
	"bytes"
	"errors"
	"testing"
)

func TestTemplateRoundTrip(t *testing.T) {
	ex := mustExtractor(t)
	tp := mustExtract(t, ex, synthPalm(1, 5, 0, 1))
	b, err := tp.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != tp.Size() {
		t.Fatalf("len %d, Size %d", len(b), tp.Size())
	}
	var back Template
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if s := Compare(tp, &back); s != 1 {
		t.Fatalf("round-tripped template scores %v against original", s)
	}
	b2, _ := back.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Fatal("re-marshalled bytes differ")
	}
	if back.Variants() != tp.Variants() || tp.Variants() == 0 {
		t.Fatalf("variants %d, want %d > 0", back.Variants(), tp.Variants())
	}
	c := tp.Canonical()
	cb, err := c.MarshalBinary()
	if err != nil || len(cb) >= len(b) || c.Variants() != 0 {
		t.Fatalf("canonical: %d bytes of %d, err %v", len(cb), len(b), err)
	}
	var cback Template
	if err := cback.UnmarshalBinary(cb); err != nil || Compare(&cback, tp) != 1 {
		t.Fatalf("canonical round trip: %v", err)
	}
}

func TestTemplateRejectsMalformed(t *testing.T) {
	ex := mustExtractor(t)
	good, _ := mustExtract(t, ex, synthPalm(2, 5, 0, 1)).MarshalBinary()
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", good[:10]},
		{"truncated", good[:len(good)-1]},
		{"extended", append(bytes.Clone(good), 0)},
		{"magic", mut(func(b []byte) []byte { b[0] = 'X'; return b })},
		{"version", mut(func(b []byte) []byte { b[4] = TemplateVersion + 1; return b })},
		{"geometry", mut(func(b []byte) []byte { b[5] = 0; return b })},
		{"reserved", mut(func(b []byte) []byte { b[9] = 1; return b })},
		{"crc", mut(func(b []byte) []byte { b[20] ^= 1; return b })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tp Template
			err := tp.UnmarshalBinary(c.b)
			if !errors.Is(err, ErrBadTemplate) {
				t.Fatalf("got %v, want ErrBadTemplate", err)
			}
			if tp.code != nil {
				t.Fatal("template modified on error")
			}
		})
	}
	var empty Template
	if _, err := empty.MarshalBinary(); !errors.Is(err, ErrBadTemplate) {
		t.Fatalf("marshal empty: %v", err)
	}
}

func FuzzUnmarshalTemplate(f *testing.F) {
	ex := mustExtractor(f)
	good, _ := mustExtract(f, ex, synthPalm(3, 5, 0, 1)).MarshalBinary()
	f.Add(good)
	f.Add(good[:40])
	f.Add([]byte("PLMT\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var tp Template
		if err := tp.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrBadTemplate) {
				t.Fatalf("error %v does not wrap ErrBadTemplate", err)
			}
			return
		}
		out, err := tp.MarshalBinary()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("accepted input does not round-trip: %v", err)
		}
		if s := Compare(&tp, &tp); s < 0 || s > 1 {
			t.Fatalf("self score %v out of range", s)
		}
	})
}
