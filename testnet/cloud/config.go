package cloud

import (
	"errors"
	"fmt"
	"log/slog"
)

// Sentinel errors. Server-side validation failures wrap ErrInvalidBatch;
// client-side failures wrap ErrUnavailable or ErrRejected (and ErrConflict for
// a 409, which is also an ErrRejected).
var (
	// ErrInvalidBatch: a batch failed decoding or validation (HTTP 400).
	ErrInvalidBatch = errors.New("invalid batch")
	// ErrConflict: a charge id is already stored with different content (HTTP 409).
	ErrConflict = errors.New("charge id conflict")
	// ErrUnavailable: the receiver could not be reached or answered 5xx/429;
	// the upload may or may not have been stored. Retry with backoff: dedup
	// makes the retry safe.
	ErrUnavailable = errors.New("cloud unavailable")
	// ErrRejected: the receiver refused the request (4xx); resending the same
	// request will be refused again.
	ErrRejected = errors.New("cloud rejected request")
	// ErrClosed: the Receiver has been closed.
	ErrClosed = errors.New("receiver closed")
)

// DefaultMaxBatch is the default maximum number of charges in one batch.
const DefaultMaxBatch = 1000

// bytesPerCharge bounds the JSON size of one charge when MaxBodyBytes is derived.
const bytesPerCharge = 2048

// Config configures a Receiver. The zero value of every field except DBPath
// means "use the default".
type Config struct {
	// DBPath is the SQLite database file. Required. It is created if missing.
	DBPath string
	// Logger receives request and lifecycle logs. nil discards them.
	Logger *slog.Logger
	// MaxBatch is the largest number of charges accepted in one batch;
	// 0 means DefaultMaxBatch. Larger batches get 400.
	MaxBatch int
	// MaxBodyBytes caps the request body of an upload; larger bodies get 413.
	// 0 means MaxBatch*2 KiB + 64 KiB.
	MaxBodyBytes int64
	// FailEvery is a fault knob for tests and demos: when > 0, every Nth
	// upload (1-based, counted over all stores) gets 503 without writing
	// anything. 0 disables it.
	FailEvery int
}

// DefaultConfig returns a Config with every default filled in except DBPath,
// which the caller must set.
func DefaultConfig() Config {
	c := Config{MaxBatch: DefaultMaxBatch}
	c.MaxBodyBytes = c.maxBodyBytes()
	return c
}

// Validate reports whether c can be used by Open. It does not touch the disk.
func (c Config) Validate() error {
	switch {
	case c.DBPath == "":
		return errors.New("cloud config: DBPath is required")
	case c.MaxBatch < 0:
		return fmt.Errorf("cloud config: MaxBatch %d must not be negative", c.MaxBatch)
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("cloud config: MaxBodyBytes %d must not be negative", c.MaxBodyBytes)
	case c.FailEvery < 0:
		return fmt.Errorf("cloud config: FailEvery %d must not be negative", c.FailEvery)
	}
	return nil
}

// withDefaults returns c with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = c.maxBodyBytes()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) maxBodyBytes() int64 {
	n := c.MaxBatch
	if n == 0 {
		n = DefaultMaxBatch
	}
	return int64(n)*bytesPerCharge + 64<<10
}
