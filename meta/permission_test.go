package meta

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPermits(t *testing.T) {
	p := &Permission{Configure: "^orders", Write: ".*", Read: ""}
	tests := []struct {
		access Access
		name   string
		want   bool
	}{
		{AccessConfigure, "orders.created", true},
		{AccessConfigure, "my-orders", false},
		{AccessWrite, "anything", true},
		{AccessRead, "anything", false},
		{AccessRead, "", true}, // "" is "^$": the default exchange only
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Permits(p, tt.access, tt.name), "%v %q", tt.access, tt.name)
	}
	assert.False(t, Permits(nil, AccessRead, "x"))
	assert.False(t, Permits(&Permission{Configure: "("}, AccessConfigure, "x"))
	_, err := CompilePermission(Permission{Write: "("})
	requireCode(t, err, CodePreconditionFailed, "PRECONDITION_FAILED - invalid regular expression '('")
}

func TestMatchPolicy(t *testing.T) {
	ps := []Policy{
		{Vhost: "/", Name: "all-low", Pattern: ".*", ApplyTo: "all", Priority: 0},
		{Vhost: "/", Name: "orders", Pattern: "^orders", ApplyTo: "queues", Priority: 5},
		{Vhost: "/", Name: "quorum", Pattern: ".*", ApplyTo: "quorum_queues", Priority: 9},
		{Vhost: "/", Name: "x", Pattern: "^orders", ApplyTo: "exchanges", Priority: 7},
		{Vhost: "v", Name: "other-vhost", Pattern: ".*", ApplyTo: "all", Priority: 99},
	}
	tests := []struct{ name, qtype, want string }{
		{"orders.new", "classic", "orders"},
		{"orders.new", "", "x"},
		{"orders.new", "quorum", "quorum"},
		{"misc", "classic", "all-low"},
	}
	for _, tt := range tests {
		p := MatchPolicy(ps, "/", tt.name, tt.qtype)
		if assert.NotNil(t, p) {
			assert.Equal(t, tt.want, p.Name, "%s %s", tt.name, tt.qtype)
		}
	}
	assert.Nil(t, MatchPolicy(ps, "none", "q", "classic"))
}
