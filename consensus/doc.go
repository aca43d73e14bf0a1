// Package consensus decides who is in a store and who leads it.
//
// Every kiosk of a store runs one Cluster. A Cluster combines:
//
//   - hashicorp/memberlist gossip (encrypted with a key derived from the store
//     secret) to discover the store's kiosks and their addresses;
//   - hashicorp/raft, with its log in a Badger-backed log store and its RPCs
//     carried over libp2p streams on QUIC (authenticated and encrypted by TLS);
//   - self-forming (BootstrapExpect, like Consul's bootstrap-expect), operator
//     driven Join (non-voter first, promoted once caught up) and Remove;
//   - forwarding of commands from followers to the leader over the libp2p
//     stream protocol "/palmtill/apply/1".
//
// The replicated state machine itself (raft.FSM) is supplied by the caller.
// See DESIGN.md for the protocols, timeouts and failure modes.
package consensus
