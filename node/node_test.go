package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palmtill/palmtill/matchcore"
	"github.com/palmtill/palmtill/testnet/cloud"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Process-wide pools started by dependencies on first use; they are not per-node.
		goleak.IgnoreTopFunction("github.com/golang/glog.(*fileSink).flushDaemon"),
		goleak.IgnoreTopFunction("github.com/dgraph-io/ristretto/v2/z.(*AllocatorPool).freeupAllocators"),
		goleak.IgnoreAnyFunction("github.com/ipfs/go-log/v2.(*MirrorWriter).logRoutine"),
		goleak.IgnoreAnyFunction("go.opencensus.io/stats/view.(*worker).start"),
		goleak.IgnoreAnyFunction("github.com/libp2p/go-libp2p/p2p/transport/quicreuse.(*reuse).gc"),
		goleak.IgnoreAnyFunction("github.com/quic-go/quic-go.(*Transport).listen"),
		goleak.IgnoreAnyFunction("internal/poll.runtime_pollWait"),
	)
}

// freePort returns a 127.0.0.1 port free for both TCP and UDP.
func freePort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		l.Close()
		if err == nil {
			u.Close()
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

type testStore struct {
	t      testing.TB
	nodes  []*Node
	cfgs   []Config
	cancel []context.CancelFunc
	done   []chan struct{}
	secret []byte
}

func testConfig(t testing.TB, i int, secret []byte, cloudURL string) Config {
	cfg := DefaultConfig()
	cfg.Name = fmt.Sprintf("kiosk-%d", i+1)
	cfg.DataDir = filepath.Join(t.TempDir(), cfg.Name)
	cfg.StoreID = "test-store"
	cfg.Secret = secret
	cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg.GossipAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg.P2PAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg.CloudURL = cloudURL
	w := &testWriter{t: t}
	t.Cleanup(w.finish) // registered before the store's cleanup, so it runs after it
	cfg.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return cfg
}

// testWriter sends logs to the test log until the test ends, then drops them: libraries'
// goroutines may still log briefly after a node is closed.
type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) finish() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// startStore starts n kiosks that form one store and waits for a leader.
func startStore(t testing.TB, n int, cloudURL string, tweak ...func(*Config)) *testStore {
	t.Helper()
	s := &testStore{t: t, secret: []byte("test-secret-0123456789abcdef")}
	var gossip []string
	for i := 0; i < n; i++ {
		cfg := testConfig(t, i, s.secret, cloudURL)
		cfg.BootstrapExpect = n
		for _, f := range tweak {
			f(&cfg)
		}
		s.cfgs = append(s.cfgs, cfg)
		gossip = append(gossip, cfg.GossipAddr)
	}
	for i := range s.cfgs {
		s.cfgs[i].Join = gossip
		s.start(i)
	}
	t.Cleanup(s.stopAll)
	s.waitLeader()
	return s
}

func (s *testStore) start(i int) {
	s.t.Helper()
	nd, err := New(s.cfgs[i])
	if err != nil {
		s.t.Fatalf("start %s: %v", s.cfgs[i].Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); nd.Run(ctx) }()
	for len(s.nodes) <= i {
		s.nodes, s.cancel, s.done = append(s.nodes, nil), append(s.cancel, nil), append(s.done, nil)
	}
	s.nodes[i], s.cancel[i], s.done[i] = nd, cancel, done
}

func (s *testStore) stop(i int) {
	if s.nodes[i] == nil {
		return
	}
	s.cancel[i]()
	<-s.done[i]
	s.nodes[i].Close()
	s.nodes[i] = nil
}

func (s *testStore) stopAll() {
	for i := range s.nodes {
		s.stop(i)
	}
}

func (s *testStore) client(i int) *Client {
	c := NewClient(s.nodes[i].Addr(), AdminToken(s.secret, "test-store"))
	return c
}

func (s *testStore) leader() int {
	for i, n := range s.nodes {
		if n != nil && n.cluster.IsLeader() {
			return i
		}
	}
	return -1
}

func (s *testStore) waitLeader() int {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if l := s.leader(); l >= 0 {
			return l
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatal("no leader within 30s")
	return -1
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func enrol(t *testing.T, c *Client, identity uint64) EnrolResponse {
	t.Helper()
	id := identity
	resp, err := c.Enrol(context.Background(), EnrolRequest{
		CardToken: fmt.Sprintf("tok_%d", identity), IdempotencyKey: fmt.Sprintf("enrol-%d", identity), SimIdentity: &id,
	})
	if err != nil {
		t.Fatalf("enrol %d: %v", identity, err)
	}
	return resp
}

// checkout pays at c with the palm of identity. Like a kiosk's screen, it asks the customer to
// present the palm again (a new capture) up to twice when it is not recognised: the simulated
// scanner is as hard as real palms, so a genuine miss now and then is expected.
func checkout(c *Client, identity uint64, amount int64, key string) (Receipt, error) {
	id := identity
	var err error
	for try := 0; try < 3; try++ {
		var rc Receipt
		rc, err = c.Checkout(context.Background(), CheckoutRequest{AmountMinor: amount, Currency: "EUR", IdempotencyKey: key, SimIdentity: &id})
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != "not_recognised" {
			return rc, err
		}
	}
	return Receipt{}, err
}

func TestEnrolCheckoutAndIdempotentRetries(t *testing.T) {
	s := startStore(t, 3, "")
	l := s.leader()
	f := (l + 1) % 3
	alice := enrol(t, s.client(f), 1001)
	enrol(t, s.client(l), 1002)
	waitUntil(t, 10*time.Second, "gallery replicated", func() bool {
		for _, n := range s.nodes {
			if n.currentGallery().Len() != 2 {
				return false
			}
		}
		return true
	})

	rc, err := checkout(s.client(f), 1001, 1250, "co-1")
	if err != nil {
		t.Fatalf("checkout at follower: %v", err)
	}
	if rc.CustomerID != alice.CustomerID || rc.AmountMinor != 1250 || rc.Duplicate {
		t.Fatalf("receipt %+v, want alice (%s) 1250 fresh", rc, alice.CustomerID)
	}
	tests := []struct {
		name     string
		kiosk    int
		amount   int64
		wantDup  bool
		wantCode string
	}{
		{"retry same kiosk", f, 1250, true, ""},
		{"retry other kiosk", l, 1250, true, ""},
		{"reused key other amount", f, 999, false, "idempotency_conflict"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			waitUntil(t, 5*time.Second, "charge replicated", func() bool {
				_, ok, _ := s.nodes[tc.kiosk].fsm.ChargeByKey("co-1")
				return ok
			})
			got, err := checkout(s.client(tc.kiosk), 1001, tc.amount, "co-1")
			if tc.wantCode != "" {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Code != tc.wantCode {
					t.Fatalf("err = %v, want code %s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ChargeID != rc.ChargeID || got.Duplicate != tc.wantDup {
				t.Fatalf("got %+v, want charge %s duplicate=%v", got, rc.ChargeID, tc.wantDup)
			}
		})
	}
	waitUntil(t, 5*time.Second, "one charge everywhere", func() bool {
		for _, n := range s.nodes {
			if n.fsm.Stats().Charges != 1 {
				return false
			}
		}
		return true
	})

	// A walk-in (never enrolled) is refused, never charged to someone else.
	_, err = checkout(s.client(f), 777777, 500, "walkin-1")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "not_recognised" {
		t.Fatalf("walk-in: err = %v, want not_recognised", err)
	}
}

func TestBadInputIsRefusedAndNothingWritten(t *testing.T) {
	s := startStore(t, 1, "")
	enrol(t, s.client(0), 2001)
	base := "http://" + s.nodes[0].Addr()
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"malformed json", "POST", "/v1/checkout", `{"amount_minor":`, 400},
		{"truncated", "POST", "/v1/checkout", `{"amount_minor": 10, "currency": "EUR"`, 400},
		{"empty body", "POST", "/v1/checkout", ``, 400},
		{"unknown field", "POST", "/v1/checkout", `{"amount_minor":10,"currency":"EUR","idempotency_key":"k1","sim_identity":2001,"tip":5}`, 400},
		{"zero amount", "POST", "/v1/checkout", `{"amount_minor":0,"currency":"EUR","idempotency_key":"k2","sim_identity":2001}`, 400},
		{"negative amount", "POST", "/v1/checkout", `{"amount_minor":-5,"currency":"EUR","idempotency_key":"k3","sim_identity":2001}`, 400},
		{"unknown currency", "POST", "/v1/checkout", `{"amount_minor":10,"currency":"XYZ","idempotency_key":"k4","sim_identity":2001}`, 400},
		{"no idempotency key", "POST", "/v1/checkout", `{"amount_minor":10,"currency":"EUR","sim_identity":2001}`, 400},
		{"two objects", "POST", "/v1/checkout", `{"amount_minor":10,"currency":"EUR","idempotency_key":"k5","sim_identity":2001}{}`, 400},
		{"enrol card number", "POST", "/v1/enrol", `{"card_token":"4111111111111111","idempotency_key":"e1","sim_identity":2002}`, 400},
		{"enrol no token", "POST", "/v1/enrol", `{"idempotency_key":"e2","sim_identity":2003}`, 400},
		{"unknown customer", "GET", "/v1/customers/nobody", ``, 404},
		{"delete unknown", "DELETE", "/v1/customers/nobody?idempotency_key=d1", ``, 404},
		{"admin without token", "POST", "/v1/admin/reconcile", `{}`, 401},
		{"ledger bad after", "GET", "/v1/ledger?after=x", ``, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	st := s.nodes[0].fsm.Stats()
	if st.Charges != 0 || st.Customers != 1 {
		t.Fatalf("bad input wrote state: %+v", st)
	}
}

// flakyCloud is a cloud receiver that stores the first upload and then "crashes" before the
// acknowledgement reaches the kiosk, and is unreachable for a while: the kiosk must retry and
// the cloud must deduplicate.
type flakyCloud struct {
	inner    http.Handler
	uploads  atomic.Int32
	failNext atomic.Int32
}

func (f *flakyCloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		n := f.uploads.Add(1)
		if n == 1 {
			// Stored, but the answer is lost.
			rec := httptest.NewRecorder()
			f.inner.ServeHTTP(rec, r)
			http.Error(w, "connection reset", http.StatusBadGateway)
			return
		}
		if f.failNext.Add(-1) >= 0 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
	}
	f.inner.ServeHTTP(w, r)
}

func TestReconciliationResumesWithoutDoubling(t *testing.T) {
	rcfg := cloud.DefaultConfig()
	rcfg.DBPath = filepath.Join(t.TempDir(), "cloud.db")
	recv, err := cloud.Open(rcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recv.Close() })
	fc := &flakyCloud{inner: recv.Handler()}
	fc.failNext.Store(2)
	srv := httptest.NewServer(fc)
	t.Cleanup(srv.Close)

	s := startStore(t, 3, srv.URL, func(c *Config) { c.ReconcileBatch = 5 })
	l := s.leader()
	for i := uint64(0); i < 3; i++ {
		enrol(t, s.client(l), 3000+i)
	}
	var total int64
	for i := 0; i < 12; i++ {
		amt := int64(100 + i)
		if _, err := checkout(s.client(i%3), 3000+uint64(i%3), amt, fmt.Sprintf("rc-%d", i)); err != nil {
			t.Fatal(err)
		}
		total += amt
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The first attempts fail (lost acknowledgement, then the cloud is down): the call says so
	// and the upload retries in the background; ops call again until it reports success.
	var rep ReconcileReport
	waitUntil(t, 30*time.Second, "a successful reconciliation", func() bool {
		rep, err = s.client(l).Reconcile(ctx)
		return err == nil
	})
	if rep.UpToSeq == 0 {
		t.Fatalf("report %+v", rep)
	}
	// Leader change, then reconcile again: nothing new, nothing doubled.
	s.stop(l)
	nl := s.waitLeader()
	rep2, err := s.client(nl).Reconcile(ctx)
	if err != nil {
		t.Fatalf("reconcile after leader change: %v", err)
	}
	if rep2.Uploaded != 0 {
		t.Fatalf("re-uploaded %d charges after leader change", rep2.Uploaded)
	}
	tot, err := recv.Totals("test-store")
	if err != nil {
		t.Fatal(err)
	}
	if tot.Charges != 12 || tot.TotalCents != total {
		t.Fatalf("cloud has %d charges / %d cents, want 12 / %d", tot.Charges, tot.TotalCents, total)
	}
}

func TestMetricsExposeMatchThreshold(t *testing.T) {
	s := startStore(t, 1, "")
	resp, err := http.Get("http://" + s.cfgs[0].HTTPAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("palmtill_match_threshold %v\n", matchcore.DefaultThreshold)
	if !strings.Contains(string(body), want) {
		t.Fatalf("/metrics lacks %q", want)
	}
}
