package cloud

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

const schema = `
CREATE TABLE IF NOT EXISTS charges (
	charge_id       TEXT PRIMARY KEY,
	store_id        TEXT NOT NULL,
	seq             INTEGER NOT NULL,
	customer_id     TEXT NOT NULL,
	amount_minor    INTEGER NOT NULL,
	currency        TEXT NOT NULL,
	kiosk           TEXT NOT NULL,
	at              TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	batch_id        TEXT NOT NULL,
	received_at     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS charges_store_seq ON charges(store_id, seq);
CREATE TABLE IF NOT EXISTS batches (
	store_id    TEXT NOT NULL,
	batch_id    TEXT NOT NULL,
	uploads     INTEGER NOT NULL,
	accepted    INTEGER NOT NULL,
	duplicates  INTEGER NOT NULL,
	first_at    TEXT NOT NULL,
	last_at     TEXT NOT NULL,
	PRIMARY KEY (store_id, batch_id)
) WITHOUT ROWID;
`

// Receiver stores uploaded batches in SQLite and serves the HTTP API. It is
// safe for concurrent use. Writes are serialised through a single connection,
// which is what SQLite allows anyway.
type Receiver struct {
	cfg     Config
	log     *slog.Logger
	db      *sql.DB
	uploads atomic.Int64 // POST count, for FailEvery
	closed  atomic.Bool
}

// Open opens (creating if needed) the database at cfg.DBPath in WAL mode with
// synchronous=FULL, so an acknowledged batch survives a process or OS crash.
func Open(cfg Config) (*Receiver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + cfg.DBPath + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", cfg.DBPath, err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", cfg.DBPath, err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
		db.Close()
		return nil, fmt.Errorf("enable WAL on %s: mode %q: %v", cfg.DBPath, mode, err)
	}
	r := &Receiver{cfg: cfg, log: cfg.Logger, db: db}
	r.log.Info("cloud receiver opened", "db", cfg.DBPath, "max_batch", cfg.MaxBatch)
	return r, nil
}

// Close closes the database. Later calls return ErrClosed from every method
// and 503 from the HTTP API. Close is idempotent.
func (r *Receiver) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	if err := r.db.Close(); err != nil {
		return fmt.Errorf("close db: %w", err)
	}
	return nil
}

// conflictError describes a charge id stored with different content.
type conflictError struct {
	chargeID string
	diff     []string
}

func (e *conflictError) Error() string {
	return fmt.Sprintf("%v: charge %q already stored with different %s", ErrConflict, e.chargeID, strings.Join(e.diff, ", "))
}

func (e *conflictError) Unwrap() error { return ErrConflict }

// store writes b in one transaction: new charges are inserted, charges already
// stored with the same content are counted as duplicates, and any conflict
// aborts the whole batch (returning an error wrapping ErrConflict).
func (r *Receiver) store(ctx context.Context, b Batch) (Ack, error) {
	if r.closed.Load() {
		return Ack{}, ErrClosed
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return Ack{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO charges
		(charge_id, store_id, seq, customer_id, amount_minor, currency, kiosk, at, idempotency_key, batch_id, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return Ack{}, fmt.Errorf("prepare insert: %w", err)
	}
	defer ins.Close()
	sel, err := tx.PrepareContext(ctx, `SELECT store_id, customer_id, amount_minor, currency FROM charges WHERE charge_id = ?`)
	if err != nil {
		return Ack{}, fmt.Errorf("prepare select: %w", err)
	}
	defer sel.Close()

	ack := Ack{BatchID: b.BatchID}
	for _, c := range b.Charges {
		ack.UpToSeq = max(ack.UpToSeq, c.Seq)
		res, err := ins.ExecContext(ctx, c.ChargeID, b.StoreID, int64(c.Seq), c.CustomerID, c.AmountMinor,
			c.Currency, c.Kiosk, c.At.UTC().Format(time.RFC3339Nano), c.IdempotencyKey, b.BatchID, now)
		if err != nil {
			return Ack{}, fmt.Errorf("insert charge %q: %w", c.ChargeID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return Ack{}, fmt.Errorf("insert charge %q: %w", c.ChargeID, err)
		} else if n == 1 {
			ack.Accepted++
			continue
		}
		var store, customer, currency string
		var amount int64
		if err := sel.QueryRowContext(ctx, c.ChargeID).Scan(&store, &customer, &amount, &currency); err != nil {
			return Ack{}, fmt.Errorf("read stored charge %q: %w", c.ChargeID, err)
		}
		var diff []string
		if store != b.StoreID {
			diff = append(diff, "store")
		}
		if customer != c.CustomerID {
			diff = append(diff, "customer")
		}
		if amount != c.AmountMinor {
			diff = append(diff, "amount")
		}
		if currency != c.Currency {
			diff = append(diff, "currency")
		}
		if len(diff) > 0 {
			return Ack{}, &conflictError{chargeID: c.ChargeID, diff: diff}
		}
		ack.Duplicates++
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO batches (store_id, batch_id, uploads, accepted, duplicates, first_at, last_at)
		VALUES (?, ?, 1, ?, ?, ?, ?)
		ON CONFLICT (store_id, batch_id) DO UPDATE SET
			uploads = uploads + 1, accepted = accepted + excluded.accepted,
			duplicates = duplicates + excluded.duplicates, last_at = excluded.last_at`,
		b.StoreID, b.BatchID, ack.Accepted, ack.Duplicates, now, now); err != nil {
		return Ack{}, fmt.Errorf("record batch: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Ack{}, fmt.Errorf("commit: %w", err)
	}
	return ack, nil
}

// Totals returns what is stored for store. An unknown store yields zero
// totals (with an empty, non-nil TotalMinor) and no error.
func (r *Receiver) Totals(store string) (Totals, error) {
	return r.totals(context.Background(), store)
}

func (r *Receiver) totals(ctx context.Context, store string) (Totals, error) {
	if r.closed.Load() {
		return Totals{}, ErrClosed
	}
	t := Totals{StoreID: store, TotalMinor: map[string]int64{}}
	rows, err := r.db.QueryContext(ctx, `SELECT currency, COUNT(*), SUM(amount_minor) FROM charges WHERE store_id = ? GROUP BY currency`, store)
	if err != nil {
		return Totals{}, fmt.Errorf("totals %q: %w", store, err)
	}
	defer rows.Close()
	for rows.Next() {
		var cur string
		var n, sum int64
		if err := rows.Scan(&cur, &n, &sum); err != nil {
			return Totals{}, fmt.Errorf("totals %q: %w", store, err)
		}
		t.Charges += n
		t.TotalMinor[cur] = sum
		t.TotalCents += sum
	}
	if err := rows.Err(); err != nil {
		return Totals{}, fmt.Errorf("totals %q: %w", store, err)
	}
	rows.Close()
	if err := r.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(duplicates), 0) FROM batches WHERE store_id = ?`, store).
		Scan(&t.Batches, &t.Duplicates); err != nil {
		return Totals{}, fmt.Errorf("totals %q: batches: %w", store, err)
	}
	return t, nil
}

// charges returns every stored charge of store ordered by seq, then charge id.
func (r *Receiver) charges(ctx context.Context, store string) ([]Charge, error) {
	if r.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := r.db.QueryContext(ctx, `SELECT charge_id, seq, customer_id, amount_minor, currency, kiosk, at, idempotency_key
		FROM charges WHERE store_id = ? ORDER BY seq, charge_id`, store)
	if err != nil {
		return nil, fmt.Errorf("charges %q: %w", store, err)
	}
	defer rows.Close()
	out := []Charge{}
	for rows.Next() {
		var c Charge
		var seq int64
		var at string
		if err := rows.Scan(&c.ChargeID, &seq, &c.CustomerID, &c.AmountMinor, &c.Currency, &c.Kiosk, &at, &c.IdempotencyKey); err != nil {
			return nil, fmt.Errorf("charges %q: %w", store, err)
		}
		c.Seq = uint64(seq)
		if c.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, fmt.Errorf("charges %q: stored time %q: %w", store, at, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("charges %q: %w", store, err)
	}
	return out, nil
}

// failNow reports whether the FailEvery knob fails this upload.
func (r *Receiver) failNow() bool {
	n := r.uploads.Add(1)
	return r.cfg.FailEvery > 0 && n%int64(r.cfg.FailEvery) == 0
}
