package consensus

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p"
	gostream "github.com/libp2p/go-libp2p-gostream"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	ma "github.com/multiformats/go-multiaddr"
)

// libp2p stream protocols spoken between the kiosks of a store.
const (
	protoRaft    protocol.ID = "/palmtill/raft/1"
	protoApply   protocol.ID = "/palmtill/apply/1"
	protoBarrier protocol.ID = "/palmtill/barrier/1"
	protoStatus  protocol.ID = "/palmtill/status/1"
)

// quicMultiaddr turns "ip:port" into /ip4/ip/udp/port/quic-v1 (or /ip6/...).
func quicMultiaddr(ap netip.AddrPort) (ma.Multiaddr, error) {
	fam := "ip4"
	if ap.Addr().Is6() {
		fam = "ip6"
	}
	return ma.NewMultiaddr(fmt.Sprintf("/%s/%s/udp/%d/quic-v1", fam, ap.Addr(), ap.Port()))
}

// newHost starts a libp2p host that speaks only QUIC, listens only on listen,
// and has every discovery, relay, NAT traversal and address-discovery feature
// off. Only peers admitted by gater may connect.
func newHost(key crypto.PrivKey, listen netip.AddrPort, gater *peerGater, dialTimeout time.Duration) (host.Host, error) {
	addr, err := quicMultiaddr(listen)
	if err != nil {
		return nil, err
	}
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		libp2p.ListenAddrs(addr), // replaces the 0.0.0.0/:: defaults
		libp2p.Transport(quic.NewTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionGater(gater),
		libp2p.DisableRelay(),
		libp2p.ForceReachabilityPrivate(), // no AutoNAT probing
		libp2p.DisableIdentifyAddressDiscovery(),
		libp2p.DisableMetrics(),
		libp2p.Ping(false),
		libp2p.UDPBlackHoleSuccessCounter(nil),
		libp2p.IPv6BlackHoleSuccessCounter(nil),
		libp2p.WithDialTimeout(dialTimeout),
		// NATPortMap, hole punching, AutoNATv2 and mDNS are off unless enabled.
	)
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("libp2p host: %w", err)
	}
	return h, nil
}

// peerGater admits only libp2p peers that are known members of this store:
// peers advertised in (encrypted, store-checked) gossip metadata or present
// in the raft configuration. QUIC/TLS authenticates the peer ID, so a kiosk
// that does not hold the store secret cannot reach raft or forwarding.
type peerGater struct {
	mu      sync.RWMutex
	allowed map[peer.ID]bool
}

func newPeerGater() *peerGater { return &peerGater{allowed: make(map[peer.ID]bool)} }

func (g *peerGater) allow(p peer.ID) {
	g.mu.Lock()
	g.allowed[p] = true
	g.mu.Unlock()
}

func (g *peerGater) isAllowed(p peer.ID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.allowed[p]
}

func (g *peerGater) InterceptPeerDial(p peer.ID) bool                 { return g.isAllowed(p) }
func (g *peerGater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.isAllowed(p) }
func (g *peerGater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g *peerGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return true, 0
}
func (g *peerGater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.isAllowed(p)
}

// streamLayer is a raft.StreamLayer over libp2p streams: raft server
// addresses are peer IDs, and the host's peerstore knows their multiaddrs
// from gossip.
type streamLayer struct {
	ctx         context.Context // cancelled at shutdown: aborts pending dials
	h           host.Host
	ln          net.Listener
	dialTimeout time.Duration
}

func newStreamLayer(ctx context.Context, h host.Host, dialTimeout time.Duration) (*streamLayer, error) {
	ln, err := gostream.Listen(h, protoRaft)
	if err != nil {
		return nil, err
	}
	return &streamLayer{ctx: ctx, h: h, ln: ln, dialTimeout: dialTimeout}, nil
}

// Dial opens a raft stream to the peer whose ID is address. It ignores dial
// backoff so that a restarted kiosk is reachable at once.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, fmt.Errorf("raft dial: shutting down: %w", err)
	}
	pid, err := peer.Decode(string(address))
	if err != nil {
		return nil, fmt.Errorf("raft address %q: %w", address, err)
	}
	timeout = min(timeout, s.dialTimeout)
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	ctx = network.WithForceDirectDial(ctx, "raft")
	return gostream.Dial(ctx, s.h, pid, protoRaft)
}

func (s *streamLayer) Accept() (net.Conn, error) { return s.ln.Accept() }
func (s *streamLayer) Close() error              { return s.ln.Close() }
func (s *streamLayer) Addr() net.Addr            { return s.ln.Addr() }

// newStream opens a stream of protocol proto to p, bounded by dialTimeout for
// the connection and by ctx for the rest. Dial backoff is ignored.
func newStream(ctx context.Context, h host.Host, p peer.ID, proto protocol.ID, dialTimeout time.Duration) (network.Stream, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	dctx = network.WithForceDirectDial(dctx, string(proto))
	return h.NewStream(dctx, p, proto)
}

// resetStreams resets every open stream of protocol proto.
func resetStreams(h host.Host, proto protocol.ID) {
	for _, conn := range h.Network().Conns() {
		for _, st := range conn.GetStreams() {
			if st.Protocol() == proto {
				st.Reset()
			}
		}
	}
}
