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
