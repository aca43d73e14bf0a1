package consensus

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by Cluster methods. Compare with errors.Is: most are
// wrapped with context.
var (
	// ErrNotLeader is returned by leader-only operations (Join, Remove) on a
	// follower. It is always wrapped in a *NotLeaderError naming the leader.
	ErrNotLeader = errors.New("not the leader")
	// ErrNoLeader is returned when the context ends while no leader is known.
	ErrNoLeader = errors.New("no leader")
	// ErrShutdown is returned by every method once Shutdown has been called.
	ErrShutdown = errors.New("cluster shut down")
	// ErrTimeout is returned when the context ends before the operation
	// completes; it also wraps the context's error.
	ErrTimeout = errors.New("timed out")
	// ErrUnknownNode is returned by Remove for an ID not in the raft configuration.
	ErrUnknownNode = errors.New("unknown node")
	// ErrWrongStore is returned by Join when the contacted kiosk belongs to
	// another store (different StoreID).
	ErrWrongStore = errors.New("member of another store")
	// ErrLastVoter is returned by Remove when removing the node would leave the
	// raft configuration without a voter.
	ErrLastVoter = errors.New("refusing to remove the last voter")
	// ErrRejected is returned by Apply when the FSM returned an error for the
	// command (the command is in the log, the FSM refused it).
	ErrRejected = errors.New("command rejected by state machine")
	// ErrInvalidConfig is wrapped by Config.Validate errors.
	ErrInvalidConfig = errors.New("invalid consensus config")
)

// NotLeaderError is returned by leader-only operations on a follower. Leader is
// the current leader when known (ID empty otherwise) so that callers can
// redirect the request. errors.Is(err, ErrNotLeader) holds.
type NotLeaderError struct {
	Leader Member
}

// Error implements error.
func (e *NotLeaderError) Error() string {
	if e.Leader.ID == "" {
		return ErrNotLeader.Error() + " (leader unknown)"
	}
	return fmt.Sprintf("%s (leader is %s, api %q)", ErrNotLeader, e.Leader.ID, e.Leader.APIAddr)
}

// Unwrap makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }
