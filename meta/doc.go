// Package meta is MQ-Meta: the metadata service that holds vhosts, users,
// permissions, exchanges, queues, bindings and policies, numbers every
// change with a global revision, and feeds the changes to proxies. It also
// serves the RabbitMQ-compatible admin HTTP API.
//
// meta reaches live AMQP sessions only through the Sessions interface, which
// package proxy implements; meta never imports proxy.
package meta
