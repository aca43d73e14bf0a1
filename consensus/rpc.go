package consensus

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// requestReadTimeout bounds how long a handler waits for the request bytes.
const requestReadTimeout = 5 * time.Second

// statusReply is the payload of a /palmtill/status/1 response.
type statusReply struct {
	NodeID       string `json:"id"`
	AppliedIndex uint64 `json:"applied"`
	LastIndex    uint64 `json:"last"`
	Term         uint64 `json:"term"`
}

// call sends one request of protocol proto to p and returns the response.
// The stream is reset as soon as ctx ends, so a dead peer never blocks the
// caller beyond ctx.
func (c *Cluster) call(ctx context.Context, p peer.ID, proto protocol.ID, payload []byte) (byte, []byte, error) {
	s, err := newStream(ctx, c.host, p, proto, c.cfg.DialTimeout)
	if err != nil {
		return 0, nil, fmt.Errorf("open %s stream to %s: %w", proto, p, err)
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	var timeout time.Duration
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
		s.SetDeadline(d)
	}
	if err := writeRequest(s, timeout, payload); err != nil {
		s.Reset()
		return 0, nil, fmt.Errorf("send %s: %w", proto, err)
	}
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return 0, nil, fmt.Errorf("send %s: %w", proto, err)
	}
	status, resp, err := readResponse(bufio.NewReader(s))
	if err != nil {
		s.Reset()
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, fmt.Errorf("receive %s: %w", proto, err)
	}
	s.Close()
	return status, resp, nil
}

// serve runs one request/response exchange of a stream handler. do gets the
// request payload and a context bounded by the requester's timeout and by
// Shutdown.
func (c *Cluster) serve(s network.Stream, do func(ctx context.Context, payload []byte) (byte, []byte)) {
	if !c.trackHandler() {
		s.Reset()
		return
	}
	defer c.handlers.Done()
	s.SetReadDeadline(time.Now().Add(requestReadTimeout))
	timeout, payload, err := readRequest(bufio.NewReader(s))
	if err != nil {
		c.log.Debug("bad forwarded request", "peer", s.Conn().RemotePeer(), "protocol", s.Protocol(), "error", err)
		s.Reset()
		return
	}
	if c.frozen.Load() {
		<-c.shutdownC
		s.Reset()
		return
	}
	ctx, cancel := context.WithTimeout(c.baseCtx, timeout)
	defer cancel()
	status, resp := do(ctx, payload)
	s.SetWriteDeadline(time.Now().Add(requestReadTimeout))
	if err := writeResponse(s, status, resp); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// handleApply serves /palmtill/apply/1 on the leader.
func (c *Cluster) handleApply(s network.Stream) {
	c.serve(s, func(ctx context.Context, cmd []byte) (byte, []byte) {
		if !c.IsLeader() {
			return statusNotLeader, []byte(ErrNotLeader.Error())
		}
		resp, err := c.applyLocal(ctx, cmd)
		switch {
		case err == nil:
			return statusOK, resp
		case isRetryable(err), errors.Is(err, ErrShutdown):
			return statusRetry, []byte(err.Error())
		case errors.Is(err, ErrRejected):
			return statusRejected, []byte(err.Error())
		default:
			return statusFailed, []byte(err.Error())
		}
	})
}

// handleBarrier serves /palmtill/barrier/1 on the leader: it runs a raft
// barrier and answers with its applied index.
func (c *Cluster) handleBarrier(s network.Stream) {
	c.serve(s, func(ctx context.Context, _ []byte) (byte, []byte) {
		if !c.IsLeader() {
			return statusNotLeader, []byte(ErrNotLeader.Error())
		}
		if err := c.barrierLocal(ctx); err != nil {
			if isRetryable(err) || errors.Is(err, ErrShutdown) {
				return statusRetry, []byte(err.Error())
			}
			return statusFailed, []byte(err.Error())
		}
		return statusOK, binary.AppendUvarint(nil, c.raft.AppliedIndex())
	})
}

// handleStatus serves /palmtill/status/1: this node's raft progress, used by
// the leader to decide when a joined non-voter has caught up.
func (c *Cluster) handleStatus(s network.Stream) {
	c.serve(s, func(context.Context, []byte) (byte, []byte) {
		b, err := json.Marshal(statusReply{
			NodeID:       c.nodeID,
			AppliedIndex: c.raft.AppliedIndex(),
			LastIndex:    c.raft.LastIndex(),
			Term:         c.raft.CurrentTerm(),
		})
		if err != nil {
			return statusFailed, []byte(err.Error())
		}
		return statusOK, b
	})
}

// peerStatus asks p for its raft progress.
func (c *Cluster) peerStatus(ctx context.Context, p peer.ID) (statusReply, error) {
	var st statusReply
	status, b, err := c.call(ctx, p, protoStatus, nil)
	if err != nil {
		return st, err
	}
	if status != statusOK {
		return st, fmt.Errorf("status from %s: %s", p, b)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("status from %s: %w", p, err)
	}
	return st, nil
}
