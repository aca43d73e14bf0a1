package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/palmtill/palmtill/consensus"
	"github.com/palmtill/palmtill/replication"
)

// Client calls one kiosk's API. palmctl and the testnet harness use it.
type Client struct {
	// Base is the kiosk API's base URL, e.g. "http://127.0.0.1:8080".
	Base string
	// AdminToken authorises admin calls (join, remove, reconcile); see AdminToken.
	AdminToken string
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
}

// APIError is an error answer from a kiosk.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"error"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (http %d, %s)", e.Message, e.Status, e.Code)
}

// ErrUnreachable wraps transport failures: the kiosk did not answer.
var ErrUnreachable = errors.New("kiosk unreachable")

// NewClient returns a client for the kiosk API at addr ("host:port" or a URL).
func NewClient(addr, adminToken string) *Client {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return &Client{Base: strings.TrimRight(addr, "/"), AdminToken: adminToken}
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.AdminToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.AdminToken)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, c.Base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, c.Base, err)
	}
	if resp.StatusCode >= 300 {
		ae := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(b, ae) != nil || ae.Message == "" {
			ae.Message = strings.TrimSpace(string(b))
		}
		return ae
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// Status fetches the kiosk's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// Members lists the store's members as the kiosk sees them.
func (c *Client) Members(ctx context.Context) ([]consensus.Member, error) {
	var m []consensus.Member
	return m, c.do(ctx, http.MethodGet, "/v1/members", nil, &m)
}

// Join asks the store to add the kiosk whose gossip address is addr.
func (c *Client) Join(ctx context.Context, addr string) (consensus.Member, error) {
	var m consensus.Member
	return m, c.do(ctx, http.MethodPost, "/v1/admin/join", JoinRequest{Addr: addr}, &m)
}

// Remove asks the store to remove the kiosk with node id id.
func (c *Client) Remove(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/v1/admin/remove", RemoveRequest{ID: id}, nil)
}

// Reconcile runs reconciliation now on the leader and waits for it.
func (c *Client) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var r ReconcileReport
	return r, c.do(ctx, http.MethodPost, "/v1/admin/reconcile", struct{}{}, &r)
}

// Enrol enrols the palm over the kiosk's scanner.
func (c *Client) Enrol(ctx context.Context, req EnrolRequest) (EnrolResponse, error) {
	var r EnrolResponse
	return r, c.do(ctx, http.MethodPost, "/v1/enrol", req, &r)
}

// Checkout charges the palm over the kiosk's scanner.
func (c *Client) Checkout(ctx context.Context, req CheckoutRequest) (Receipt, error) {
	var r Receipt
	return r, c.do(ctx, http.MethodPost, "/v1/checkout", req, &r)
}

// DeleteCustomer deletes a customer and their palm data.
func (c *Client) DeleteCustomer(ctx context.Context, id, idempotencyKey string) error {
	return c.do(ctx, http.MethodDelete, "/v1/customers/"+url.PathEscape(id)+"?idempotency_key="+url.QueryEscape(idempotencyKey), nil, nil)
}

// Ledger reads the kiosk's whole copy of the ledger, page by page.
func (c *Client) Ledger(ctx context.Context) ([]replication.ChargeRecord, error) {
	var all []replication.ChargeRecord
	after := uint64(0)
	for {
		var page struct {
			Charges []replication.ChargeRecord `json:"charges"`
		}
		if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/ledger?after=%d&limit=10000", after), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Charges...)
		if len(page.Charges) < 10000 {
			return all, nil
		}
		after = page.Charges[len(page.Charges)-1].Seq
	}
}
