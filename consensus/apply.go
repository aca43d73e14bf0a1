package consensus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Retry pacing while no leader is known or a leader refuses: the wait ends
// earlier as soon as raft reports a leader change.
const (
	retryMin = 10 * time.Millisecond
	retryMax = 200 * time.Millisecond
)

// Apply replicates cmd through raft and returns the FSM's response.
//
// On the leader it calls raft.Apply and waits for the command to be applied.
// On a follower it forwards cmd to the leader over the libp2p stream protocol
// "/palmtill/apply/1" (QUIC/TLS: authenticated and encrypted) and returns the
// leader's answer. While there is no leader, or when leadership changes
// during a call, Apply retries (waking up as soon as raft reports a new
// leader) until ctx ends.
//
// A retry after a lost leader or a broken stream may apply cmd twice: the
// first attempt may have committed even though its answer was lost. Callers
// must therefore send idempotent commands (the replication FSM deduplicates by
// idempotency key).
//
// Errors: ErrRejected (wrapping the FSM error) if the FSM refused the
// command; ErrNoLeader and ErrTimeout (both, wrapping ctx.Err()) if ctx ended
// while no leader was known; ErrTimeout (wrapping ctx.Err()) if ctx ended
// otherwise; ErrShutdown after Shutdown.
func (c *Cluster) Apply(ctx context.Context, cmd []byte) ([]byte, error) {
	var resp []byte
	err := c.retry(ctx, func(ctx context.Context, leader peer.ID, local bool) (err error) {
		if local {
			resp, err = c.applyLocal(ctx, cmd)
		} else {
			resp, err = c.forwardApply(ctx, leader, cmd)
		}
		return err
	})
	return resp, err
}

// Barrier waits until this node's FSM has applied every command committed
// before the call, as far as the leader knows.
//
// On the leader it is raft.Barrier. On a follower it asks the leader (over
// "/palmtill/barrier/1") to run a barrier and report its applied index, then
// waits until the local FSM has applied at least that index. This is best
// effort: a leader deposed during the call may report an index that a newer
// leader has superseded. Errors as for Apply.
func (c *Cluster) Barrier(ctx context.Context) error {
	return c.retry(ctx, func(ctx context.Context, leader peer.ID, local bool) error {
		if local {
			return c.barrierLocal(ctx)
		}
		return c.forwardBarrier(ctx, leader)
	})
}

// attemptFunc makes one attempt against the current leader (local reports
// that this node is the leader). A *retryableError asks for another attempt.
type attemptFunc func(ctx context.Context, leader peer.ID, local bool) error

// retryableError marks a failure worth another attempt (no or another
// leader, broken stream, leadership lost).
type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// retryable wraps err (nil stays nil) as worth another attempt.
func retryable(err error) error {
	if err == nil {
		return nil
	}
	return &retryableError{err}
}

// isRetryable reports whether err asks for another attempt.
func isRetryable(err error) bool {
	var r *retryableError
	return errors.As(err, &r)
}

// retry runs attempt against the current leader until it succeeds, fails
// for good, ctx ends or the cluster shuts down. An attempt's context is
// cancelled when raft reports a leader change, so a dead leader never holds a
// caller longer than raft takes to notice.
func (c *Cluster) retry(ctx context.Context, attempt attemptFunc) error {
	lastErr := ErrNoLeader
	wait := retryMin
	for {
		if c.isShutdown() {
			return ErrShutdown
		}
		if ctx.Err() != nil {
			return timeoutError(ctx, lastErr)
		}
		changed := c.leaderChanged()
		addr, id := c.raft.LeaderWithID()
		switch {
		case id == "":
			lastErr = ErrNoLeader
		case string(id) == c.nodeID:
			err := attempt(ctx, "", true)
			if !isRetryable(err) {
				return err
			}
			lastErr = err
		default:
			pid, err := peer.Decode(string(addr))
			if err != nil {
				return fmt.Errorf("leader address %q: %w", addr, err)
			}
			actx, cancel := context.WithCancel(ctx)
			stop := context.AfterFunc(c.baseCtx, cancel)
			go func() {
				select {
				case <-changed:
					cancel()
				case <-actx.Done():
				}
			}()
			err = attempt(actx, pid, false)
			stop()
			cancel()
			if !isRetryable(err) {
				return err
			}
			lastErr = err
		}
		select {
		case <-changed:
			wait = retryMin
		case <-time.After(wait):
			wait = min(2*wait, retryMax)
		case <-ctx.Done():
		case <-c.shutdownC:
		}
	}
}

// timeoutError builds the error returned when ctx ends before success.
func timeoutError(ctx context.Context, lastErr error) error {
	if errors.Is(lastErr, ErrNoLeader) {
		return fmt.Errorf("%w: %w: %w", ErrNoLeader, ErrTimeout, ctx.Err())
	}
	return fmt.Errorf("%w: %w (last error: %v)", ErrTimeout, ctx.Err(), lastErr)
}

// wait blocks until f resolves, ctx ends or shutdown; the goroutine waiting
// on f ends when raft resolves it (commit, leadership loss or shutdown).
func (c *Cluster) wait(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-c.shutdownC:
		return ErrShutdown
	}
}

// raftTimeout is the enqueue timeout to give raft for ctx (0 = none).
func raftTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return 0
}

// classify maps a raft future's error to ErrShutdown, a retryable error, or
// itself.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrRaftShutdown), errors.Is(err, ErrShutdown):
		return ErrShutdown
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrEnqueueTimeout),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return retryable(err)
	default:
		return err
	}
}

// applyLocal applies cmd on this (leader) node.
func (c *Cluster) applyLocal(ctx context.Context, cmd []byte) ([]byte, error) {
	f := c.raft.Apply(cmd, raftTimeout(ctx))
	if err := classify(c.wait(ctx, f)); err != nil {
		return nil, err
	}
	switch v := f.Response().(type) {
	case nil:
		return nil, nil
	case []byte:
		return v, nil
	case error:
		return nil, fmt.Errorf("%w: %w", ErrRejected, v)
	default:
		return nil, fmt.Errorf("fsm returned %T, want []byte or error", v)
	}
}

// barrierLocal runs a raft barrier on this (leader) node.
func (c *Cluster) barrierLocal(ctx context.Context) error {
	return classify(c.wait(ctx, c.raft.Barrier(raftTimeout(ctx))))
}

// forwardApply sends cmd to the leader.
func (c *Cluster) forwardApply(ctx context.Context, leader peer.ID, cmd []byte) ([]byte, error) {
	status, resp, err := c.call(ctx, leader, protoApply, cmd)
	if err != nil {
		return nil, retryable(err)
	}
	switch status {
	case statusOK:
		return resp, nil
	case statusRejected:
		return nil, fmt.Errorf("%w: %s", ErrRejected, resp)
	case statusFailed:
		return nil, fmt.Errorf("leader %s: %s", leader, resp)
	default:
		return nil, retryable(fmt.Errorf("leader %s: %s", leader, resp))
	}
}

// forwardBarrier asks the leader for a barrier, then waits for the local FSM
// to reach the leader's applied index.
func (c *Cluster) forwardBarrier(ctx context.Context, leader peer.ID) error {
	status, resp, err := c.call(ctx, leader, protoBarrier, nil)
	if err != nil {
		return retryable(err)
	}
	switch status {
	case statusOK:
	case statusFailed:
		return fmt.Errorf("leader %s: %s", leader, resp)
	default:
		return retryable(fmt.Errorf("leader %s: %s", leader, resp))
	}
	index, n := binary.Uvarint(resp)
	if n <= 0 {
		return fmt.Errorf("leader %s: bad barrier index", leader)
	}
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for c.raft.AppliedIndex() < index {
		select {
		case <-t.C:
		case <-ctx.Done():
			return retryable(ctx.Err())
		case <-c.shutdownC:
			return ErrShutdown
		}
	}
	return nil
}
