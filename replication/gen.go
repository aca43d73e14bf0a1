package replication

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The state directory holds generations of the Badger database:
//
//	Dir/CURRENT        the live generation number, replaced atomically
//	Dir/state-000001/  a Badger database
//
// Restore loads a snapshot into the next generation, syncs it, and only
// then points CURRENT at it, so a crash mid-restore leaves the old state.
const (
	currentFile = "CURRENT"
	genPrefix   = "state-"
)

func genDir(dir string, gen uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%s%06d", genPrefix, gen))
}

// prepareDir creates dir if needed, returns the live generation and
// removes leftovers of interrupted restores.
func prepareDir(dir string) (uint64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	gen, err := readCurrent(dir)
	if os.IsNotExist(err) {
		gen = 1
		err = writeCurrent(dir, gen)
	}
	if err != nil {
		return 0, err
	}
	return gen, removeOtherGens(dir, gen)
}

func readCurrent(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, currentFile))
	if err != nil {
		return 0, err
	}
	gen, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || gen == 0 {
		return 0, fmt.Errorf("%w: bad %s file %q", ErrMalformed, currentFile, b)
	}
	return gen, nil
}

// writeCurrent replaces CURRENT atomically and durably.
func writeCurrent(dir string, gen uint64) error {
	tmp := filepath.Join(dir, currentFile+".tmp")
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(fh, "%d\n", gen)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, currentFile)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeOtherGens deletes every generation directory but keep.
func removeOtherGens(dir string, keep uint64) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), genPrefix) {
			continue
		}
		if filepath.Join(dir, e.Name()) == genDir(dir, keep) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// keyCheckFile holds a value derived from Secret and StoreID, so that Open
// refuses, with a clear error, a state directory written under another
// secret or store (Badger itself would fail later, less clearly).
const (
	keyCheckFile = "KEYCHECK"
	keyCheckInfo = "palmtill key check v1"
)

func checkKey(dir string, secret []byte, storeID string) error {
	k, err := deriveKey(secret, keyCheckInfo, storeID)
	if err != nil {
		return err
	}
	want := hex.EncodeToString(k) + "\n"
	p := filepath.Join(dir, keyCheckFile)
	got, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		if err := os.WriteFile(p, []byte(want), 0o600); err != nil {
			return err
		}
		return syncDir(dir)
	}
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got, []byte(want)) != 1 {
		return fmt.Errorf("%w: state in %s was written under another secret or store id", ErrDecrypt, dir)
	}
	return nil
}
