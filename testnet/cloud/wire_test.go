package cloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

func FuzzDecodeBatch(f *testing.F) {
	good, _ := json.Marshal(mkBatch("s1", "b1", 0, 2))
	for _, s := range []string{
		string(good),
		``, `{}`, `null`, `[]`, `{"store_id":"s1"}`,
		`{"store_id":"s1","batch_id":"b","charges":[{"charge_id":"c","seq":1,"customer_id":"u","amount_minor":5,"currency":"USD","at":"2026-01-01T00:00:00Z"}]}`,
		`{"store_id":"s1","batch_id":"b","charges":[{"charge_id":"c","seq":18446744073709551615,"customer_id":"u","amount_minor":5,"currency":"USD","at":"2026-01-01T00:00:00Z"}]}`,
		`{"store_id":"s1","batch_id":"b","charges":[{"charge_id":"c","amount_minor":1e400}]}`,
		`{"store_id":"s1","batch_id":"b","charges":[{"at":"10000-01-01T00:00:00Z"}]}`,
		`{"store_id":"s1","bogus":true}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBatch(bytes.NewReader(data), 10)
		if err != nil {
			if !errors.Is(err, ErrInvalidBatch) {
				t.Fatalf("error %v does not wrap ErrInvalidBatch", err)
			}
			if !reflect.DeepEqual(b, Batch{}) {
				t.Fatalf("error with non-zero batch %+v", b)
			}
			return
		}
		if err := b.Validate(10); err != nil {
			t.Fatalf("decoded batch fails Validate: %v", err)
		}
		// A decoded batch round-trips.
		again, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		b2, err := decodeBatch(bytes.NewReader(again), 10)
		if err != nil {
			t.Fatalf("re-decode %s: %v", again, err)
		}
		if len(b2.Charges) != len(b.Charges) || b2.StoreID != b.StoreID || b2.BatchID != b.BatchID {
			t.Fatalf("round trip changed batch: %+v -> %+v", b, b2)
		}
	})
}

func TestDecodeBatchBodyLimit(t *testing.T) {
	body, _ := json.Marshal(mkBatch("s1", "b1", 0, 50))
	rec := httptest.NewRecorder()
	_, err := decodeBatch(http.MaxBytesReader(rec, io.NopCloser(bytes.NewReader(body)), 100), 0)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) || errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("err = %v, want *http.MaxBytesError", err)
	}
}
