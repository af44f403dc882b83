package bench

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFlagsDefaults(t *testing.T) {
	tests := []struct {
		args                []string
		label, target       string
		queues              int
		fill                int64
		fillTime, timeLimit time.Duration
	}{
		{[]string{}, "publish", "127.0.0.1:5672", 1, 0, 2 * time.Minute, 15 * time.Second},
		{[]string{"--scenario", "consume"}, "consume", "127.0.0.1:5672", 1, 100_000, 2 * time.Minute, 15 * time.Second},
		{[]string{"--scenario", "backlog", "--uri", "amqp://u:p@h:5673/v"}, "backlog", "h:5673", 1, 20_000_000, 2 * time.Hour, 15 * time.Second},
		{[]string{"--scenario", "backlog", "--fill", "0"}, "backlog", "127.0.0.1:5672", 1, 0, 2 * time.Hour, 15 * time.Second},
		{[]string{"--scenario", "fanout", "--label", "fanout-10", "--target", "warren", "--time", "5s"}, "fanout-10", "warren", 10, 0, 2 * time.Minute, 5 * time.Second},
		{[]string{"--scenario", "topic"}, "topic", "127.0.0.1:5672", 100, 0, 2 * time.Minute, 15 * time.Second},
	}
	for _, tt := range tests {
		c, err := ParseFlags(tt.args, io.Discard)
		require.NoError(t, err, "%q", tt.args)
		assert.Equal(t, tt.label, c.Label, "%q", tt.args)
		assert.Equal(t, tt.target, c.Target, "%q", tt.args)
		assert.Equal(t, tt.queues, c.Queues, "%q", tt.args)
		assert.Equal(t, tt.fill, c.Fill, "%q", tt.args)
		assert.Equal(t, tt.fillTime, c.FillTime, "%q", tt.args)
		assert.Equal(t, tt.timeLimit, c.Time, "%q", tt.args)
		assert.Equal(t, 4, c.Producers)
		assert.Equal(t, 4, c.Consumers)
		assert.Equal(t, 1024, c.Size)
		assert.Equal(t, 256, c.Confirm)
	}
}

func TestParseFlagsRejects(t *testing.T) {
	for _, args := range [][]string{
		{"--scenario", "nope"},
		{"--uri", "http://x/"},
		{"--size", "4"},
		{"--time", "0s"},
		{"--producers", "0"},
		{"--rate", "-1"},
		{"--scenario", "topic", "--queues", "10"},
		{"extra"},
	} {
		_, err := ParseFlags(args, io.Discard)
		assert.Error(t, err, "%q", args)
	}
}
