package replication_test

import (
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/raft"

	"github.com/palmtill/palmtill/replication"
)

// Example shows the node's side of the contract: build a command, let raft
// apply it (here: directly), decode the result bytes.
func Example() {
	dir, _ := os.MkdirTemp("", "fsm")
	defer os.RemoveAll(dir)
	cfg := replication.DefaultConfig()
	cfg.Dir = dir
	cfg.Secret = []byte("a store secret of 16+ bytes")
	cfg.StoreID = "store-42"
	fsm, err := replication.Open(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fsm.Close()

	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	enrol, _ := fsm.EncodeEnrol(replication.Enrol{CustomerID: "cust-1", CardToken: "tok_visa_abc",
		Templates: [][]byte{[]byte("template bytes")}, Kiosk: "kiosk-1", At: at, IdempotencyKey: "enrol-1"})
	charge, _ := replication.EncodeCharge(replication.Charge{ChargeID: "ch-1", CustomerID: "cust-1",
		AmountMinor: 499, Currency: "EUR", Kiosk: "kiosk-1", At: at, IdempotencyKey: "pay-1"})
	_, err = replication.EncodeCharge(replication.Charge{ChargeID: "ch-2", CustomerID: "cust-1",
		AmountMinor: 0, Currency: "EUR", Kiosk: "kiosk-1", At: at, IdempotencyKey: "pay-2"})
	fmt.Println(err)

	for i, cmd := range [][]byte{enrol, charge, charge} {
		// consensus.Apply returns these bytes, possibly from the leader.
		raw := fsm.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: cmd}).([]byte)
		res, _ := replication.DecodeResult(raw)
		switch {
		case res.Err() != nil:
			fmt.Println(res.Err())
		case res.Charge != nil:
			fmt.Printf("charge seq=%d %d %s duplicate=%v\n", res.Charge.Seq, res.Charge.AmountMinor, res.Charge.Currency, res.Duplicate)
		default:
			fmt.Printf("enrolled %s with %d template(s)\n", res.Customer.CustomerID, res.Customer.Templates)
		}
	}
	fmt.Println(fsm.Stats().LedgerTotal["EUR"])
	// Output:
	// invalid command: amount 0 is not positive
	// enrolled cust-1 with 1 template(s)
	// charge seq=2 499 EUR duplicate=false
	// charge seq=2 499 EUR duplicate=true
	// 499
}
