// Command palmctl is the ops tool for a palmtill store: status, members, join, remove, reconcile.
//
//	palmctl --api 127.0.0.1:8080 status
//	palmctl --api 127.0.0.1:8080 --secret-file store.secret join 127.0.0.1:7949
//
// Output is readable by default; --json prints JSON for scripts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/palmtill/palmtill/node"
	"github.com/spf13/cobra"
)

type opts struct {
	api, secretFile, storeID string
	asJSON                   bool
	timeout                  time.Duration
}

func main() {
	if err := rootCmd(os.Stdout).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "palmctl:", hint(err))
		os.Exit(1)
	}
}

// hint turns an error into advice on what to do.
func hint(err error) string {
	var ae *node.APIError
	switch {
	case errors.Is(err, node.ErrUnreachable):
		return err.Error() + "\n  is the kiosk running? pass its API address with --api HOST:PORT (or PALMCTL_API)"
	case errors.As(err, &ae) && ae.Status == 401:
		return err.Error() + "\n  pass the store secret with --secret-file FILE (or PALMCTL_SECRET_FILE) and the store id with --store-id"
	case errors.As(err, &ae) && ae.Code == "no_leader":
		return err.Error() + "\n  the store is electing a leader or has lost quorum: check `palmctl members`"
	}
	return err.Error()
}

func rootCmd(out io.Writer) *cobra.Command {
	o := &opts{}
	root := &cobra.Command{
		Use:           "palmctl",
		Short:         "operate a palmtill store",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	pf := root.PersistentFlags()
	pf.StringVar(&o.api, "api", envOr("PALMCTL_API", "127.0.0.1:8080"), "any kiosk's API address")
	pf.StringVar(&o.secretFile, "secret-file", os.Getenv("PALMCTL_SECRET_FILE"), "store secret file (needed by join, remove, reconcile)")
	pf.StringVar(&o.storeID, "store-id", envOr("PALMCTL_STORE_ID", ""), "store id (default: asked from the kiosk)")
	pf.BoolVar(&o.asJSON, "json", false, "print JSON")
	pf.DurationVar(&o.timeout, "timeout", 60*time.Second, "give up after this long")

	root.AddCommand(
		&cobra.Command{Use: "status", Short: "the kiosk's and the store's state", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return status(cmd, o) }},
		&cobra.Command{Use: "members", Short: "the store's kiosks: gossip health, Raft role, leader", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return members(cmd, o) }},
		&cobra.Command{Use: "join GOSSIP_ADDR", Short: "add the new kiosk listening for gossip at GOSSIP_ADDR to the store", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return join(cmd, o, args[0]) }},
		&cobra.Command{Use: "remove NODE_ID", Short: "remove a kiosk from the store (see members for ids)", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return remove(cmd, o, args[0]) }},
		&cobra.Command{Use: "reconcile", Short: "upload settled charges to the cloud now", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return reconcile(cmd, o) }},
	)
	return root
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// client builds an API client; admin adds the token derived from the secret file.
func (o *opts) client(ctx context.Context, admin bool) (*node.Client, error) {
	c := node.NewClient(o.api, "")
	if !admin {
		return c, nil
	}
	if o.secretFile == "" {
		return nil, errors.New("this command needs the store secret: pass --secret-file FILE (or PALMCTL_SECRET_FILE)")
	}
	b, err := os.ReadFile(o.secretFile)
	if err != nil {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	store := o.storeID
	if store == "" {
		st, err := c.Status(ctx)
		if err != nil {
			return nil, err
		}
		store = st.Store
	}
	c.AdminToken = node.AdminToken([]byte(strings.TrimSpace(string(b))), store)
	return c, nil
}

func (o *opts) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), o.timeout)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func status(cmd *cobra.Command, o *opts) error {
	ctx, cancel := o.ctx()
	defer cancel()
	c, _ := o.client(ctx, false)
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if o.asJSON {
		return printJSON(w, st)
	}
	leader := "none (election in progress or no quorum)"
	if st.Leader != nil {
		leader = st.Leader.ID + " at " + st.Leader.APIAddr
	}
	cloud := "off"
	if st.Cloud.Enabled {
		cloud = "down: " + st.Cloud.LastError
		if st.Cloud.Up || st.Cloud.LastError == "" {
			cloud = "up"
		}
	}
	fmt.Fprintf(w, "kiosk      %s (%s) in store %s\n", st.Node, st.State, st.Store)
	fmt.Fprintf(w, "leader     %s\n", leader)
	fmt.Fprintf(w, "members    %d\n", len(st.Members))
	fmt.Fprintf(w, "raft       term %d, commit %d, applied %d\n", st.Raft.Term, st.Raft.CommitIndex, st.Raft.AppliedIndex)
	fmt.Fprintf(w, "customers  %d (gallery %d)\n", st.Customers, st.Gallery)
	fmt.Fprintf(w, "charges    %d, totals %s\n", st.Charges, totals(st.LedgerTotal))
	fmt.Fprintf(w, "cloud      %s, uploaded up to seq %d\n", cloud, st.UploadedSeq)
	return nil
}

func totals(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d.%02d %s", m[k]/100, m[k]%100, k))
	}
	return strings.Join(parts, ", ")
}

func members(cmd *cobra.Command, o *opts) error {
	ctx, cancel := o.ctx()
	defer cancel()
	c, _ := o.client(ctx, false)
	ms, err := c.Members(ctx)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if o.asJSON {
		return printJSON(w, ms)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tGOSSIP\tRAFT\tLEADER\tAPI\tGOSSIP ADDR")
	for _, m := range ms {
		l := ""
		if m.Leader {
			l = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Gossip, m.Suffrage, l, m.APIAddr, m.GossipAddr)
	}
	return tw.Flush()
}

func join(cmd *cobra.Command, o *opts, addr string) error {
	ctx, cancel := o.ctx()
	defer cancel()
	c, err := o.client(ctx, true)
	if err != nil {
		return err
	}
	m, err := c.Join(ctx, addr)
	if err != nil {
		return err
	}
	if o.asJSON {
		return printJSON(cmd.OutOrStdout(), m)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "joined %s (%s) as a non-voter; it becomes a voter once it has caught up (watch: palmctl members)\n", m.ID, addr)
	return nil
}

func remove(cmd *cobra.Command, o *opts, id string) error {
	ctx, cancel := o.ctx()
	defer cancel()
	c, err := o.client(ctx, true)
	if err != nil {
		return err
	}
	if err := c.Remove(ctx, id); err != nil {
		return err
	}
	if o.asJSON {
		return printJSON(cmd.OutOrStdout(), map[string]string{"removed": id})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "removed %s from the store\n", id)
	return nil
}

func reconcile(cmd *cobra.Command, o *opts) error {
	ctx, cancel := o.ctx()
	defer cancel()
	c, err := o.client(ctx, true)
	if err != nil {
		return err
	}
	rep, err := c.Reconcile(ctx)
	if err != nil {
		return err
	}
	if o.asJSON {
		return printJSON(cmd.OutOrStdout(), rep)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "reconciled on leader %s: %d charges uploaded in %d batches (%d already in the cloud); cloud has everything up to seq %d\n",
		rep.Leader, rep.Uploaded, rep.Batches, rep.Duplicates, rep.UpToSeq)
	return nil
}
