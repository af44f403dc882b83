package meta

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
)

// Run by hand: go test -run '^$' -bench . -benchtime 2000x ./meta

func benchDB(b *testing.B, noSync bool) *DB {
	db, err := Open(Options{Path: filepath.Join(b.TempDir(), "meta.db"), NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// BenchmarkDeclareDeleteExclusiveQueue is the RPC reply-queue churn: it
// must not touch bbolt.
func BenchmarkDeclareDeleteExclusiveQueue(b *testing.B) {
	db := benchDB(b, false)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		q, _, err := db.DeclareQueue(ctx, Queue{Vhost: "/", Exclusive: true, AutoDelete: true, Owner: "c"}, false)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.DeleteQueue(ctx, "/", q.Name); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queues/s")
}

// BenchmarkReplyQueueChurnLargeTopology: reply-queue churn beside 10,000
// bindings (indexed, so deleting a queue does not scan them).
func BenchmarkReplyQueueChurnLargeTopology(b *testing.B) {
	db := benchDB(b, true)
	ctx := context.Background()
	for i := range 10000 {
		name := "q" + strconv.Itoa(i)
		if _, _, err := db.DeclareQueue(ctx, Queue{Vhost: "/", Name: name}, false); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Bind(ctx, Binding{Vhost: "/", Source: "amq.topic", Destination: name, DestinationType: DestQueue, RoutingKey: name}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		q, _, err := db.DeclareQueue(ctx, Queue{Vhost: "/", Exclusive: true, AutoDelete: true, Owner: "c"}, false)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.DeleteQueue(ctx, "/", q.Name); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeclareDurableQueue pays one fsynced bbolt commit per declare.
func BenchmarkDeclareDurableQueue(b *testing.B) {
	db := benchDB(b, false)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, err := db.DeclareQueue(ctx, Queue{Vhost: "/", Name: "q" + strconv.Itoa(i), Durable: true}, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queues/s")
}

// BenchmarkRedeclareQueue is the common client habit of declaring an
// existing queue on every start or publish.
func BenchmarkRedeclareQueue(b *testing.B) {
	db := benchDB(b, true)
	ctx := context.Background()
	q := Queue{Vhost: "/", Name: "q", Durable: true, Arguments: map[string]any{"x-message-ttl": int32(1000)}}
	if _, _, err := db.DeclareQueue(ctx, q, false); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := db.DeclareQueue(ctx, q, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedeclareQueueParallel: redeclares share the read lock.
func BenchmarkRedeclareQueueParallel(b *testing.B) {
	db := benchDB(b, true)
	ctx := context.Background()
	q := Queue{Vhost: "/", Name: "q", Durable: true}
	if _, _, err := db.DeclareQueue(ctx, q, false); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := db.DeclareQueue(ctx, q, false); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
