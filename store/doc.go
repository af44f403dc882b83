// Package store is Warren's log-structured message store: per namespace
// (AMQP vhost) one append-only commit log in which the records of all topics
// are interleaved, per-topic indexes of fixed-size entries, and consumer
// groups (AMQP queues) that are cursors over those topics with POP-style
// leasing, acknowledgement and requeue.
//
// The interface in store.go is deliberately narrow and backend-neutral (a
// log and groups with opaque receipts) so that a second implementation on a
// distributed log can follow. Queue semantics a backend may lack (TTL,
// dead-lettering, max-length, priority) live above these primitives where
// practical.
//
// The on-disk formats are drawn in the implementation files.
package store
