package consensus

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Wire format of the forwarding protocols (/palmtill/apply/1,
// /palmtill/barrier/1, /palmtill/status/1); one request and one response per
// libp2p stream:
//
//	request  = uvarint(timeout in ms, 0 = leader default) uvarint(len) payload
//	response = status byte                                 uvarint(len) payload
//
// apply payload: the command; response payload: the FSM response (OK), the
// error text (other statuses). barrier request payload: empty; response
// payload: uvarint(leader's applied index after the barrier). status request
// payload: empty; response payload: the JSON statusReply.

// Response status codes.
const (
	statusOK        byte = 0 // payload is the result
	statusNotLeader byte = 1 // the peer is not the leader; retry elsewhere
	statusRetry     byte = 2 // transient leader-side failure (leadership lost, shutdown); retry
	statusRejected  byte = 3 // the FSM returned an error; final
	statusFailed    byte = 4 // any other error; final
)

// maxFrame bounds a payload read from the network (commands carry palm
// templates, a few KiB, far below this).
const maxFrame = 16 << 20

// maxForwardTimeout bounds the timeout a requester may ask the leader for.
const maxForwardTimeout = 30 * time.Second

var errFrameTooLarge = errors.New("frame too large")

// writeRequest writes one request.
func writeRequest(w io.Writer, timeout time.Duration, payload []byte) error {
	buf := binary.AppendUvarint(nil, uint64(max(timeout, 0)/time.Millisecond))
	buf = binary.AppendUvarint(buf, uint64(len(payload)))
	if _, err := w.Write(append(buf, payload...)); err != nil {
		return err
	}
	return nil
}

// readRequest reads one request; the timeout is capped at maxForwardTimeout.
func readRequest(r *bufio.Reader) (time.Duration, []byte, error) {
	ms, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, nil, fmt.Errorf("request timeout: %w", err)
	}
	timeout := maxForwardTimeout
	if ms > 0 && ms < uint64(maxForwardTimeout/time.Millisecond) {
		timeout = time.Duration(ms) * time.Millisecond
	}
	payload, err := readFrame(r)
	return timeout, payload, err
}

// writeResponse writes one response.
func writeResponse(w io.Writer, status byte, payload []byte) error {
	buf := append([]byte{status}, binary.AppendUvarint(nil, uint64(len(payload)))...)
	_, err := w.Write(append(buf, payload...))
	return err
}

// readResponse reads one response.
func readResponse(r *bufio.Reader) (byte, []byte, error) {
	status, err := r.ReadByte()
	if err != nil {
		return 0, nil, fmt.Errorf("response status: %w", err)
	}
	if status > statusFailed {
		return 0, nil, fmt.Errorf("response status %d unknown", status)
	}
	payload, err := readFrame(r)
	return status, payload, err
}

// readFrame reads uvarint(len) payload, refusing more than maxFrame bytes.
func readFrame(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, fmt.Errorf("frame length: %w", err)
	}
	if n > maxFrame {
		return nil, fmt.Errorf("%w: %d bytes", errFrameTooLarge, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("frame: %w", err)
	}
	return b, nil
}
