package replication

import "errors"

// Sentinel errors. Result.Err wraps the first five according to the Code;
// the constructors (Encode*) wrap ErrInvalid with the reason.
var (
	// ErrInvalid: a command is malformed or fails validation (zero amount,
	// unknown currency, empty id, a card number instead of a token, ...).
	ErrInvalid = errors.New("invalid command")
	// ErrConflict: an idempotency key (or charge id) was reused with
	// different content.
	ErrConflict = errors.New("idempotency conflict")
	// ErrNotFound: the customer (or record) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnknownCommand: the command's format version or type is not one
	// this build understands.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrExists: the customer id is already enrolled (under another key).
	ErrExists = errors.New("already exists")
	// ErrInternal: the state machine could not apply a command because of a
	// local storage failure. The FSM stops applying after one (see Healthy).
	ErrInternal = errors.New("internal state machine error")
	// ErrMalformed: bytes handed to a decoder (result, record, snapshot)
	// are not a valid encoding.
	ErrMalformed = errors.New("malformed encoding")
	// ErrClosed: the FSM has been closed.
	ErrClosed = errors.New("state machine closed")
	// ErrDecrypt: ciphertext could not be authenticated under the store key
	// (wrong Secret or StoreID, or tampered data).
	ErrDecrypt = errors.New("decryption failed")
)
