package meta

import (
	"context"
	"encoding/json"
	"os"
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
