// Package cloud is the reference cloud receiver for palmtill's nightly
// reconciliation, plus the client the node's reconciler uses to reach it.
//
// # Overview
//
// Each store's Raft leader uploads its settled charges in batches
// (POST /v1/stores/{store}/charges). The receiver stores them in SQLite
// (WAL mode, synchronous=FULL) inside one transaction per batch and
// deduplicates by charge id, so a batch retried after a crash, a timeout or a
// leader change never counts a charge twice. Once an Ack is returned, every
// charge of the batch (up to Ack.UpToSeq) is durably stored.
//
// A charge id that arrives again with different content (store, customer,
// amount or currency) is a conflict: the whole batch is refused with 409 and
// nothing of it is written. Reconciliation is never silently "fixed".
//
// # HTTP API
//
//	POST /v1/stores/{store}/charges  Batch -> 200 Ack | 400/409/413 {"error": "..."} | 503
//	GET  /v1/stores/{store}/totals   -> Totals
//	GET  /v1/stores/{store}/charges  -> []Charge in seq order
//	GET  /healthz                    -> {"status": "ok"}
//
// Client wraps the API; its errors are classified so the caller knows what to
// do: ErrUnavailable (network error, 5xx, 429: retry with backoff) or
// ErrRejected (other 4xx: retrying the same batch will not help).
package cloud
