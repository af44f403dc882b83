package amqpwire

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a test leaves goroutines behind (the
// cross-check tests start an amqp091-go client and a fake server).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
