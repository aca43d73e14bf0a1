package badgerstore

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// testConfig is a fast Config for tests: fsync on (as in production; ext4
// makes it cheap enough), GC goroutine off unless a test wants it.
func testConfig(t testing.TB, dir string) Config {
	cfg := DefaultConfig(dir)
	cfg.GCInterval = 0
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return cfg
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// openStore opens a Store in dir (a new temp dir if empty) and closes it
// when the test ends, unless the test closed it already.
func openStore(t testing.TB, dir string, mutate ...func(*Config)) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := testConfig(t, dir)
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func mkLog(i uint64) *raft.Log {
	return &raft.Log{
		Index:      i,
		Term:       i/10 + 1,
		Type:       raft.LogCommand,
		Data:       []byte{byte(i), byte(i >> 8), 'd'},
		Extensions: []byte("ext"),
		AppendedAt: time.Unix(1700000000+int64(i), int64(i)),
	}
}

func mkLogs(lo, hi uint64) []*raft.Log {
	var logs []*raft.Log
	for i := lo; i <= hi; i++ {
		logs = append(logs, mkLog(i))
	}
	return logs
}

func logsEqual(a, b *raft.Log) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Type == b.Type &&
		bytes.Equal(a.Data, b.Data) && (a.Data == nil) == (b.Data == nil) &&
		bytes.Equal(a.Extensions, b.Extensions) && (a.Extensions == nil) == (b.Extensions == nil) &&
		a.AppendedAt.Equal(b.AppendedAt)
}

func TestSmoke(t *testing.T) {
	s := openStore(t, "")
	if err := s.StoreLogs(mkLogs(1, 10)); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	if err := s.GetLog(5, &l); err != nil || !logsEqual(&l, mkLog(5)) {
		t.Fatalf("GetLog: %v %+v", err, l)
	}
	if _, err := s.Get([]byte("x")); err == nil || err.Error() != "not found" {
		t.Fatalf("Get missing: %v", err)
	}
}
