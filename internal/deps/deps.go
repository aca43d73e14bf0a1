// Package deps pins the module's third-party dependencies while the packages that use them are
// being written. It is removed once every dependency has a real importer.
package deps

import (
	_ "github.com/anishathalye/porcupine"
	_ "github.com/dgraph-io/badger/v4"
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/memberlist"
	_ "github.com/hashicorp/raft"
	_ "github.com/hashicorp/raft-wal"
	_ "github.com/hashicorp/raft/bench"
	_ "github.com/libp2p/go-libp2p"
	_ "github.com/libp2p/go-libp2p-raft"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/quic-go/quic-go"
	_ "github.com/spf13/cobra"
	_ "go.uber.org/goleak"
	_ "golang.org/x/image/draw"
	_ "modernc.org/sqlite"
	_ "pgregory.net/rapid"
)
