// Package amqpwire is the AMQP 0-9-1 codec: frames, field tables, content
// headers and every method of 0-9-1 plus RabbitMQ's extensions. The API
// contract is docs/amqpwire-api.md.
package amqpwire

//go:generate go run gen.go
