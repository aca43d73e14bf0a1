package badgerstore

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestStableStore(t *testing.T) {
	s := openStore(t, "")
	steps := []struct {
		name string
		do   func() error
	}{
		{"Set", func() error { return s.Set([]byte("a"), []byte("1")) }},
		{"Set overwrite", func() error { return s.Set([]byte("a"), []byte("22")) }},
		{"Set empty value", func() error { return s.Set([]byte("empty"), []byte{}) }},
		{"Set nil value", func() error { return s.Set([]byte("nil"), nil) }},
		{"Set empty key", func() error { return s.Set([]byte{}, []byte("root")) }},
		{"Set binary key", func() error { return s.Set([]byte{0, 0xff, 's'}, []byte{1, 2, 3}) }},
		{"SetUint64", func() error { return s.SetUint64([]byte("CurrentTerm"), 42) }},
		{"SetUint64 max", func() error { return s.SetUint64([]byte("max"), math.MaxUint64) }},
		{"SetUint64 zero", func() error { return s.SetUint64([]byte("zero"), 0) }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	// A log key must not collide with a stable key of the same bytes.
	if err := s.StoreLog(mkLog(1)); err != nil {
		t.Fatal(err)
	}

	gets := []struct {
		key  string
		want []byte
	}{
		{"a", []byte("22")},
		{"empty", []byte{}},
		{"nil", []byte{}},
		{"", []byte("root")},
		{"\x00\xffs", []byte{1, 2, 3}},
	}
	uints := []struct {
		key  string
		want uint64
	}{{"CurrentTerm", 42}, {"max", math.MaxUint64}, {"zero", 0}}

	check := func(t *testing.T, s *Store) {
		for _, g := range gets {
			got, err := s.Get([]byte(g.key))
			if err != nil || !bytes.Equal(got, g.want) {
				t.Errorf("Get(%q) = %q, %v; want %q", g.key, got, err, g.want)
			}
		}
		for _, u := range uints {
			got, err := s.GetUint64([]byte(u.key))
			if err != nil || got != u.want {
				t.Errorf("GetUint64(%q) = %d, %v; want %d", u.key, got, err, u.want)
			}
		}
		for _, missing := range []string{"missing", "CurrentTermX", "\x00"} {
			if _, err := s.Get([]byte(missing)); !errors.Is(err, ErrKeyNotFound) || err.Error() != "not found" {
				t.Errorf("Get(%q) = %v, want ErrKeyNotFound with message \"not found\"", missing, err)
			}
			if _, err := s.GetUint64([]byte(missing)); !errors.Is(err, ErrKeyNotFound) || err.Error() != "not found" {
				t.Errorf("GetUint64(%q) = %v, want ErrKeyNotFound with message \"not found\"", missing, err)
			}
		}
		if _, err := s.GetUint64([]byte("a")); !errors.Is(err, ErrCorrupt) {
			t.Errorf("GetUint64 of a 2-byte value = %v, want ErrCorrupt", err)
		}
	}
	t.Run("open", func(t *testing.T) { check(t, s) })

	t.Run("values are copies", func(t *testing.T) {
		in := []byte("mutable")
		if err := s.Set([]byte("copy"), in); err != nil {
			t.Fatal(err)
		}
		in[0] = 'X'
		out, err := s.Get([]byte("copy"))
		if err != nil || string(out) != "mutable" {
			t.Fatalf("Get after caller changed its input = %q, %v", out, err)
		}
		out[0] = 'Y'
		if again, _ := s.Get([]byte("copy")); string(again) != "mutable" {
			t.Fatalf("Get after caller changed a returned value = %q", again)
		}
	})

	t.Run("reopened", func(t *testing.T) {
		dir := s.cfg.Dir
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		check(t, openStore(t, dir))
	})
}
