// Package mapping holds the pure functions that map AMQP onto the store:
// names to namespaced topics and groups, bindings to compiled filters that
// reproduce RabbitMQ's direct, fanout, topic and headers matching exactly,
// and publish-time routing.
package mapping
