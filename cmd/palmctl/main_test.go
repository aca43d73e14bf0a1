package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palmtill/palmtill/consensus"
	"github.com/palmtill/palmtill/node"
)

// fakeKiosk answers the kiosk API's read and admin calls with canned data.
func fakeKiosk(t *testing.T, secret string) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(node.Status{Node: "kiosk-1", Store: "shop", State: "Leader",
			Leader: &consensus.Member{ID: "kiosk-1", APIAddr: "127.0.0.1:1"}, LedgerTotal: map[string]int64{"EUR": 1234}})
	})
	mux.HandleFunc("GET /v1/members", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode([]consensus.Member{{ID: "kiosk-1", Gossip: "alive", Suffrage: "voter", Leader: true}})
	})
	mux.HandleFunc("POST /v1/admin/remove", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+node.AdminToken([]byte(secret), "shop") {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "unauthorized", "code": "unauthorized"})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"removed": "kiosk-2"})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestCommands(t *testing.T) {
	srv := fakeKiosk(t, "the-store-secret-0123")
	secret := filepath.Join(t.TempDir(), "s")
	os.WriteFile(secret, []byte("the-store-secret-0123\n"), 0o600)
	wrong := filepath.Join(t.TempDir(), "w")
	os.WriteFile(wrong, []byte("another-secret-0123456\n"), 0o600)
	api := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{"status", []string{"--api", api, "status"}, "12.34 EUR", ""},
		{"status json", []string{"--api", api, "--json", "status"}, `"store": "shop"`, ""},
		{"members", []string{"--api", api, "members"}, "kiosk-1", ""},
		{"remove", []string{"--api", api, "--secret-file", secret, "remove", "kiosk-2"}, "removed kiosk-2", ""},
		{"remove without secret", []string{"--api", api, "remove", "kiosk-2"}, "", "--secret-file"},
		{"remove wrong secret", []string{"--api", api, "--secret-file", wrong, "remove", "kiosk-2"}, "", "unauthorized"},
		{"unreachable", []string{"--api", "127.0.0.1:1", "status"}, "", "unreachable"},
		{"join needs addr", []string{"--api", api, "join"}, "", "accepts 1 arg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := rootCmd(&out)
			cmd.SetArgs(tc.args)
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(hint(err), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("output %q lacks %q", out.String(), tc.want)
			}
		})
	}
}
