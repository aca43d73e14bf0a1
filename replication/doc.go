// Package replication is the replicated state machine of a palmtill store:
// what every kiosk of a store agrees on.
//
// It implements a hashicorp/raft FSM (and BatchingFSM) over a Badger
// database holding customers, their encrypted palm templates, the charge
// ledger and the reconciliation mark. It knows nothing about how the log is
// replicated: the consensus package runs raft and calls the FSM; the node
// builds commands with the Encode* constructors, proposes their bytes, and
// decodes the bytes raft hands back with DecodeResult.
//
// # Contracts
//
//   - Apply and ApplyBatch never return a Go error: every response is the
//     []byte of an encoded Result. State-machine errors travel as a Code.
//   - Apply is deterministic: the proposer fills in times and ids; the FSM
//     never reads the clock or a random source while applying.
//   - The last applied raft index is written in the same Badger transaction
//     as the effects of the entries, and entries at or below it are skipped,
//     so raft may replay its log after a restart without double-applying
//     (raft.Config.NoSnapshotRestoreOnStart may be true; see DESIGN.md).
//   - Templates are opaque bytes. They are stored only as AES-256-GCM
//     ciphertext under a per-customer data key, itself wrapped by the store
//     key derived from Config.Secret.
//
// DESIGN.md next to this file describes the command format, the state
// layout, the key hierarchy and the snapshot format.
package replication
