package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// Fuzz targets; the seeds run with every go test. Longer runs by hand:
//
//	go test -run '^$' -fuzz FuzzImport -fuzztime 60s ./meta
//	go test -run '^$' -fuzz FuzzArgs -fuzztime 60s ./meta

// FuzzImport: any body either fails to parse, fails to import leaving the
// state as it was, or imports; it never panics.
func FuzzImport(f *testing.F) {
	if b, err := os.ReadFile("testdata/rabbitmq-3.10-definitions.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"queues":[{"name":"q","vhost":"/","durable":"true","arguments":{"x-max-length":-1}}]}`))
	f.Add([]byte(`{"bindings":[{"source":"amq.topic","vhost":"/","destination":"q","destination_type":"exchange"}]}`))
	f.Add([]byte(`{"users":[{"name":"u","tags":7}]}`))
	db, err := Open(Options{Path: f.TempDir() + "/meta.db", NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := parseDefinitions(body, "")
		if err != nil {
			return
		}
		before := db.Revision()
		if _, err := db.Import(context.Background(), d); err != nil && db.Revision() != before {
			t.Fatalf("failed import moved the revision: %v", err)
		}
	})
}

// FuzzArgs: decoding stored argument JSON never panics, and what decodes
// encodes again.
func FuzzArgs(f *testing.F) {
	f.Add([]byte(`{"a":["I",5],"b":["F",{"c":["A",[["S","x"],["D",[2,314]]]]}]}`))
	f.Add([]byte(`{"t":["T",1700000000],"x":["x","AAEC"],"v":["V",null]}`))
	f.Add([]byte(`{"bad":["Q",1]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var a Args
		if err := json.Unmarshal(b, &a); err != nil {
			return
		}
		if _, err := json.Marshal(a); err != nil {
			t.Fatalf("decoded args do not encode: %v", err)
		}
	})
}

// FuzzAPI: no request, however malformed, panics the admin API or gets a
// 500; every error body is RabbitMQ's {"error", "reason"} JSON.
//
//	go test -run '^$' -fuzz FuzzAPI -fuzztime 60s ./meta
func FuzzAPI(f *testing.F) {
	f.Add(uint8(1), "/api/queues/%2F/q", []byte(`{"durable":true,"arguments":{"x-max-length":"x"}}`))
	f.Add(uint8(3), "/api/bindings/%2F/e/amq.direct/q/q", []byte(`{"routing_key":7}`))
	f.Add(uint8(2), "/api/definitions", []byte(`{"exchanges":[{"name":"a","type":"topic","vhost":"/"}]}`))
	f.Add(uint8(0), "/api/exchanges/%2F?page=2&page_size=1&sort=type&columns=name", []byte(nil))
	f.Add(uint8(4), "/api/vhosts/%2F", []byte(nil))
	f.Add(uint8(1), "/api/policies/%2F/p", []byte(`{"pattern":"(","definition":{"a":1}}`))
	db, err := Open(Options{Path: f.TempDir() + "/meta.db", NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	h := newAPI(db, noSessions{}, nil, 1<<16)
	methods := []string{"GET", "PUT", "POST", "DELETE", "PATCH"}
	f.Fuzz(func(t *testing.T, m uint8, path string, body []byte) {
		if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "/api/vhosts/%2F") && m == 3 {
			return // keep "/" itself (deleting it only makes later inputs dull)
		}
		req, err := http.NewRequest(methods[int(m)%len(methods)], "http://x"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.SetBasicAuth("guest", "guest")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("%s %s: %d %s", req.Method, path, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && rec.Body.Len() > 0 {
			var e struct{ Error, Reason any }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == nil {
				t.Fatalf("%s %s: %d body %q is not an error document", req.Method, path, rec.Code, rec.Body)
			}
		}
	})
}
