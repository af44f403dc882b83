package amqpwire

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire/internal/specgen"
)

// TestGeneratedFileIsFresh regenerates zz_generated_spec.go in memory from
// the spec XML in the amqp091-go module and fails when the checked-in file
// differs: run `go generate ./amqpwire/`.
func TestGeneratedFileIsFresh(t *testing.T) {
	path, err := specgen.SpecPath()
	require.NoError(t, err)
	xml, err := os.ReadFile(path)
	require.NoError(t, err)
	want, err := specgen.Generate(xml)
	require.NoError(t, err)
	got, err := os.ReadFile("zz_generated_spec.go")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "zz_generated_spec.go is stale: run go generate ./amqpwire/")
}
