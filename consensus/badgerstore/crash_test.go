package badgerstore

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

const crashChildEnv = "BADGERSTORE_CRASH_CHILD_DIR"

// TestCrashRecovery kills a process that is appending to and compacting a
// Store with SIGKILL, then reopens the directory: every write the child
// saw acknowledged must be there, and the log must be contiguous.
func TestCrashRecovery(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecovery$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read acknowledgements until enough have come, kill the child
	// mid-write, then drain the pipe: its last line is the last state the
	// child saw acknowledged.
	var ackFirst, ackLast, acks uint64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "ack %d %d", &ackFirst, &ackLast); err != nil {
			t.Errorf("child said %q", sc.Text())
			break
		}
		if acks++; acks == 300 {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = cmd.Process.Kill() // in case the loop ended early
	_ = cmd.Wait()
	if acks < 300 {
		t.Fatalf("child stopped after %d acknowledgements", acks)
	}

	s := openStore(t, dir)
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	// One more batch (at most 40 entries) and one more head deletion
	// (keeping at least 59 of the acknowledged entries) may have landed.
	if last < ackLast || last > ackLast+40 || first < ackFirst || first+59 > ackLast {
		t.Fatalf("recovered [%d, %d], but [%d, %d] was acknowledged", first, last, ackFirst, ackLast)
	}
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := s.GetLog(i, &l); err != nil || !logsEqual(&l, mkLog(i)) {
			t.Fatalf("recovered [%d, %d]: GetLog(%d) = %v (log not contiguous or damaged)", first, last, i, err)
		}
	}
	if term, err := s.GetUint64([]byte("term")); err != nil || term < ackLast {
		t.Fatalf("GetUint64(term) = %d, %v; %d was acknowledged", term, err, ackLast)
	}
	t.Logf("killed; read %d acknowledgements; acknowledged [%d, %d], recovered [%d, %d]", acks, ackFirst, ackLast, first, last)
}

// crashChild appends batches of 1-40 entries, sets a stable key and
// compacts the head now and then, printing each acknowledged state, until
// it is killed (or a minute passes).
func crashChild(dir string) {
	cfg := DefaultConfig(dir)
	cfg.MemTableSize = 1 << 20 // rotate memtables during the run
	cfg.ValueThreshold = 1 << 10
	s, err := New(cfg)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	var first, next uint64 = 1, 1
	deadline := time.Now().Add(time.Minute)
	for n := uint64(0); time.Now().Before(deadline); n++ {
		size := 1 + n*7%40
		if err := s.StoreLogs(mkLogs(next, next+size-1)); err != nil {
			fmt.Println("store:", err)
			os.Exit(1)
		}
		next += size
		if err := s.SetUint64([]byte("term"), next-1); err != nil {
			fmt.Println("set:", err)
			os.Exit(1)
		}
		if n%10 == 9 && next > 100 {
			if err := s.DeleteRange(0, next-100); err != nil {
				fmt.Println("delete:", err)
				os.Exit(1)
			}
			first = next - 99
		}
		fmt.Printf("ack %d %d\n", first, next-1)
	}
	os.Exit(2)
}
