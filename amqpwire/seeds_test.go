package amqpwire

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWriteFuzzSeeds writes the seed corpora in testdata/fuzz from the
// golden frames and the RabbitMQ captures when run with -update; without
// it, it checks the seeds are there.
func TestWriteFuzzSeeds(t *testing.T) {
	seeds := map[string][]string{} // target → corpus file contents
	add := func(target string, values ...any) {
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, v := range values {
			switch v := v.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", v)
			case uint32:
				fmt.Fprintf(&b, "uint32(%d)\n", v)
			case uint16:
				fmt.Fprintf(&b, "uint16(%d)\n", v)
			}
		}
		seeds[target] = append(seeds[target], b.String())
	}
	for _, dir := range []string{"golden", "rabbitmq"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.bin"))
		require.NoError(t, err)
		require.NotEmpty(t, files)
		for _, file := range files {
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			add("FuzzFrameReader", b, uint32(0), uint16(len(b)/2))
			add("FuzzFrameReader", b, uint32(FrameMinSize), uint16(7))
			addPayloadSeeds(t, b, add)
		}
	}
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if *update {
			require.NoError(t, os.MkdirAll(dir, 0o755))
			for i, s := range files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%03d", i)), []byte(s), 0o644))
			}
		}
		got, err := filepath.Glob(filepath.Join(dir, "seed-*"))
		require.NoError(t, err)
		require.Len(t, got, len(files), "run go test ./amqpwire -run Seeds -update")
	}
}

// addPayloadSeeds adds the method payloads, content header payloads and
// field tables found in a frame sequence.
func addPayloadSeeds(t *testing.T, frames []byte, add func(string, ...any)) {
	for _, f := range readFrames(t, frames) {
		switch f.Type {
		case FrameMethod:
			add("FuzzDecodeMethod", f.Payload)
			m, err := DecodeMethod(f.Payload)
			require.NoError(t, err)
			if s, ok := m.(*ConnectionStart); ok {
				b, err := AppendTable(nil, s.ServerProperties)
				require.NoError(t, err)
				add("FuzzDecodeTable", b[4:])
			}
		case FrameHeader:
			add("FuzzContentHeader", f.Payload)
			h, err := DecodeContentHeader(f.Payload)
			require.NoError(t, err)
			v, err := ViewProperties(h.Properties)
			require.NoError(t, err)
			if v.Headers != nil {
				add("FuzzDecodeTable", v.Headers)
			}
		}
	}
}
