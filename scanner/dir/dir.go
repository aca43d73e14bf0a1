// Package dir is a scanner.Driver that replays the image files of a folder
// as captures, so that real images take the same path through the capture
// pipeline as camera frames.
//
// Files are read in lexical path order (recursively); PNG, JPEG and GIF are
// decoded. Frames are gray or color as the file is; the pipeline converts.
package dir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // register decoder
	_ "image/jpeg" // register decoder
	_ "image/png"  // register decoder
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/palmtill/palmtill/scanner"
)

// Limits on decoded images, so that a hostile file cannot exhaust memory.
const (
	// MaxSide is the largest width or height accepted.
	MaxSide = 8192
	// MaxPixels is the largest width×height accepted.
	MaxPixels = 40 << 20
	// MaxFileSize is the largest file read.
	MaxFileSize = 64 << 20
)

// Errors specific to this driver.
var (
	// ErrTooLarge is returned for an image or file over the limits.
	ErrTooLarge = errors.New("dir: image too large")
)

// Config describes the folder to replay.
type Config struct {
	// Dir is the folder; every file with a .png, .jpg, .jpeg or .gif
	// extension below it is a capture.
	Dir string
	// Band is reported on every frame.
	Band scanner.Band
	// Loop restarts from the first file after the last instead of
	// returning io.EOF.
	Loop bool
}

// Validate reports a missing folder name.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("dir: Dir is empty")
	}
	return nil
}

// Driver replays a folder. It is safe for concurrent use.
type Driver struct {
	cfg Config

	mu    sync.Mutex
	open  bool
	files []string
	next  int
	seq   uint64
}

// New returns a closed driver for cfg.
func New(cfg Config) (*Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Driver{cfg: cfg}, nil
}

// Open lists the folder. It returns an error wrapping scanner.ErrNoDevice
// if the folder does not exist or holds no images.
func (d *Driver) Open(ctx context.Context) error {
	files, err := List(d.cfg.Dir)
	if err != nil {
		return fmt.Errorf("dir: open %s: %v: %w", d.cfg.Dir, err, scanner.ErrNoDevice)
	}
	if len(files) == 0 {
		return fmt.Errorf("dir: open %s: no images: %w", d.cfg.Dir, scanner.ErrNoDevice)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open {
		return nil
	}
	d.files, d.next, d.open = files, 0, true
	return nil
}

// List returns the image files below root in lexical order.
func List(root string) ([]string, error) {
	if _, err := os.Stat(root); err != nil {
		return nil, err
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && IsImage(path) {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// IsImage reports whether path has an image extension this driver reads.
func IsImage(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".jpg", ".jpeg", ".gif":
		return true
	}
	return false
}

// Close closes the driver; Capture then returns scanner.ErrNotOpen.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.open = false
	d.mu.Unlock()
	return nil
}

// Capture decodes the next file. After the last file it returns io.EOF
// (unless Loop). A file that cannot be read or decoded is skipped and its
// error returned; a file that disappeared since Open is reported as
// scanner.ErrDisconnected.
func (d *Driver) Capture(ctx context.Context) (scanner.Frame, error) {
	if err := ctx.Err(); err != nil {
		return scanner.Frame{}, err
	}
	d.mu.Lock()
	if !d.open {
		d.mu.Unlock()
		return scanner.Frame{}, scanner.ErrNotOpen
	}
	if d.next >= len(d.files) {
		if !d.cfg.Loop {
			d.mu.Unlock()
			return scanner.Frame{}, io.EOF
		}
		d.next = 0
	}
	path := d.files[d.next]
	d.next++
	d.seq++
	seq := d.seq
	d.mu.Unlock()

	b, err := readLimited(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return scanner.Frame{}, fmt.Errorf("dir: %s: %v: %w", path, err, scanner.ErrDisconnected)
		}
		return scanner.Frame{}, fmt.Errorf("dir: %s: %w", path, err)
	}
	img, err := Decode(b)
	if err != nil {
		return scanner.Frame{}, fmt.Errorf("dir: %s: %w", path, err)
	}
	return scanner.Frame{Image: img, Band: d.cfg.Band, Timestamp: time.Now(), Seq: seq, Source: path}, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, ErrTooLarge
	}
	return b, nil
}

// Decode decodes an image file's bytes, refusing images over MaxSide or
// MaxPixels before allocating them. It never panics on malformed input.
func Decode(b []byte) (img image.Image, err error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, errors.New("decode: empty image")
	}
	if cfg.Width > MaxSide || cfg.Height > MaxSide || cfg.Width*cfg.Height > MaxPixels {
		return nil, fmt.Errorf("%dx%d: %w", cfg.Width, cfg.Height, ErrTooLarge)
	}
	defer func() {
		if r := recover(); r != nil { // defensive: a decoder bug must not kill the kiosk
			img, err = nil, fmt.Errorf("decode: decoder panic: %v", r)
		}
	}()
	img, _, err = image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return img, nil
}
