package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxResponseBytes caps how much of a response the Client reads.
const maxResponseBytes = 64 << 20

// Client talks to a Receiver over HTTP. It is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client for the receiver at baseURL (for example
// "http://127.0.0.1:8700"). hc nil means http.DefaultClient; callers should
// pass a client with a Timeout or use contexts with deadlines.
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// Upload sends b and returns the receiver's Ack. Errors wrap ErrUnavailable
// (network error, 5xx, 429, unreadable answer: the batch may or may not be
// stored; retry with backoff, deduplication makes that safe) or ErrRejected
// with the server's message (other 4xx; a 409 also wraps ErrConflict). An Ack
// is only returned when every charge of b is durably stored.
func (c *Client) Upload(ctx context.Context, b Batch) (Ack, error) {
	body, err := json.Marshal(b)
	if err != nil {
		return Ack{}, fmt.Errorf("%w: encode batch: %v", ErrRejected, err)
	}
	var ack Ack
	if err := c.do(ctx, http.MethodPost, c.storePath(b.StoreID, "charges"), body, &ack); err != nil {
		return Ack{}, fmt.Errorf("upload batch %q: %w", b.BatchID, err)
	}
	if ack.BatchID != b.BatchID || ack.Accepted+ack.Duplicates != len(b.Charges) {
		return Ack{}, fmt.Errorf("upload batch %q: %w: ack %+v does not match batch of %d", b.BatchID, ErrUnavailable, ack, len(b.Charges))
	}
	return ack, nil
}

// Totals fetches the receiver's totals for store. Errors are classified as
// for Upload.
func (c *Client) Totals(ctx context.Context, store string) (Totals, error) {
	var t Totals
	if err := c.do(ctx, http.MethodGet, c.storePath(store, "totals"), nil, &t); err != nil {
		return Totals{}, fmt.Errorf("totals %q: %w", store, err)
	}
	return t, nil
}

// Charges fetches every stored charge of store in seq order. Errors are
// classified as for Upload.
func (c *Client) Charges(ctx context.Context, store string) ([]Charge, error) {
	var cs []Charge
	if err := c.do(ctx, http.MethodGet, c.storePath(store, "charges"), nil, &cs); err != nil {
		return nil, fmt.Errorf("charges %q: %w", store, err)
	}
	return cs, nil
}

func (c *Client) storePath(store, what string) string {
	return c.base + "/v1/stores/" + url.PathEscape(store) + "/" + what
}

// do performs one request and decodes a 200 answer into out.
func (c *Client) do(ctx context.Context, method, u string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%w: build request: %v", ErrRejected, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%w: read response: %w", ErrUnavailable, err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%w: decode response: %v", ErrUnavailable, err)
		}
		return nil
	}
	msg := serverMessage(data)
	switch {
	case resp.StatusCode == http.StatusConflict:
		return fmt.Errorf("%w: %w: %s", ErrRejected, ErrConflict, strings.TrimPrefix(msg, ErrConflict.Error()+": "))
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("%w: status %d: %s", ErrUnavailable, resp.StatusCode, msg)
	case resp.StatusCode >= 400:
		return fmt.Errorf("%w: status %d: %s", ErrRejected, resp.StatusCode, msg)
	default:
		return fmt.Errorf("%w: unexpected status %d: %s", ErrUnavailable, resp.StatusCode, msg)
	}
}

// serverMessage extracts {"error": "..."} from a response, or a short prefix
// of the raw body.
func serverMessage(data []byte) string {
	var eb errorBody
	if err := json.Unmarshal(data, &eb); err == nil && eb.Error != "" {
		return eb.Error
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
