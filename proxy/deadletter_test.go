package proxy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
)

func TestAddDeath(t *testing.T) {
	at := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	rej := death{queue: "q", reason: "rejected", exchange: "x", routingKey: "k", at: at.Add(300 * time.Millisecond)}
	exp := death{queue: "q2", reason: "expired", exchange: "", routingKey: "q2", at: at}
	entry := func(d death, count int64) amqpwire.Table {
		return amqpwire.Table{"count": count, "reason": d.reason, "queue": d.queue, "time": at,
			"exchange": d.exchange, "routing-keys": []any{d.routingKey}}
	}
	tests := []struct {
		name   string
		before amqpwire.Table
		add    []death
		exp    string
		want   amqpwire.Table
	}{
		{"first death", amqpwire.Table{"h": "v"}, []death{rej}, "", amqpwire.Table{
			"h": "v", "x-death": []any{entry(rej, 1)},
			"x-first-death-reason": "rejected", "x-first-death-queue": "q", "x-first-death-exchange": "x",
		}},
		{"same queue and reason counts", amqpwire.Table{}, []death{rej, rej}, "", amqpwire.Table{
			"x-death":              []any{entry(rej, 2)},
			"x-first-death-reason": "rejected", "x-first-death-queue": "q", "x-first-death-exchange": "x",
		}},
		{"another death goes in front, first-death kept", amqpwire.Table{}, []death{rej, exp}, "", amqpwire.Table{
			"x-death":              []any{entry(exp, 1), entry(rej, 1)},
			"x-first-death-reason": "rejected", "x-first-death-queue": "q", "x-first-death-exchange": "x",
		}},
		{"repeat moves to the front", amqpwire.Table{}, []death{rej, exp, rej}, "", amqpwire.Table{
			"x-death":              []any{entry(rej, 2), entry(exp, 1)},
			"x-first-death-reason": "rejected", "x-first-death-queue": "q", "x-first-death-exchange": "x",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.before
			for _, d := range tt.add {
				addDeath(h, d, tt.exp)
			}
			require.Equal(t, tt.want, h)
		})
	}
}

func TestDeadPropertiesMovesExpiration(t *testing.T) {
	in := amqpwire.Properties{Expiration: "20", MessageID: "m", DeliveryMode: 2}
	raw, err := in.Append(nil)
	require.NoError(t, err)
	out, err := deadProperties(raw, death{queue: "q", reason: "expired", routingKey: "q", at: time.Unix(5, 0)})
	require.NoError(t, err)
	p, err := amqpwire.DecodeProperties(out)
	require.NoError(t, err)
	require.Equal(t, "", p.Expiration)
	require.Equal(t, "m", p.MessageID)
	require.Equal(t, uint8(2), p.DeliveryMode)
	e := p.Headers["x-death"].([]any)[0].(amqpwire.Table)
	require.Equal(t, "20", e["original-expiration"])
	require.Equal(t, time.Unix(5, 0).UTC(), e["time"])
}

func TestCycled(t *testing.T) {
	props := func(deaths ...amqpwire.Table) []byte {
		h := amqpwire.Table{}
		if deaths != nil {
			var a []any
			for _, d := range deaths {
				a = append(a, d)
			}
			h["x-death"] = a
		}
		raw, err := (&amqpwire.Properties{Headers: h}).Append(nil)
		require.NoError(t, err)
		return raw
	}
	d := func(q, reason string) amqpwire.Table { return amqpwire.Table{"queue": q, "reason": reason} }
	tests := []struct {
		name string
		raw  []byte
		want bool
	}{
		{"never died", props(), false},
		{"died elsewhere", props(d("other", "expired")), false},
		{"died here before", props(d("q", "expired")), true},
		{"died here, then elsewhere", props(d("other", "maxlen"), d("q", "expired")), true},
		{"a reject breaks the cycle", props(d("other", "rejected"), d("q", "expired")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, cycled(tt.raw, "q"))
		})
	}
}
