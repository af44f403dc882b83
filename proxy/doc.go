// Package proxy is MQ-Proxy: the AMQP 0-9-1 listener, connection and channel
// state machines, routing against a binding snapshot that follows meta's
// change feed, and consumers served from store groups. Apart from live
// sessions it holds no state.
package proxy
