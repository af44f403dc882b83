package bench

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProcReaderFixture(t *testing.T) {
	p := ProcReader{Root: "testdata/proc", PID: 4242}
	cpu, err := p.CPU()
	require.NoError(t, err)
	// utime 1234 + stime 567 ticks at 100 Hz; the command name holds
	// spaces and parentheses.
	assert.Equal(t, 18010*time.Millisecond, cpu)
	rss, err := p.RSS()
	require.NoError(t, err)
	assert.Equal(t, int64(245252*1024), rss)

	_, err = ProcReader{Root: "testdata/proc", PID: 1}.CPU()
	assert.ErrorIs(t, err, ErrProc)
}

func TestProcReaderSelf(t *testing.T) {
	p := ProcReader{Root: "/proc", PID: os.Getpid()}
	_, err := p.CPU()
	require.NoError(t, err)
	rss, err := p.RSS()
	require.NoError(t, err)
	assert.Greater(t, rss, int64(1<<20), "a Go test binary is resident in more than 1 MiB")
}

func TestParseStatRejects(t *testing.T) {
	for _, give := range []string{
		"",
		"1 (x) S 1 2 3",
		"1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 5 0",
	} {
		_, err := parseStatCPU([]byte(give))
		assert.ErrorIs(t, err, ErrProc, "%q", give)
	}
}

func TestParseStatusRejects(t *testing.T) {
	for _, give := range []string{
		"Name:\tx\n",
		"VmRSS:\t12 MB\n",
		"VmRSS:\tlots kB\n",
	} {
		_, err := parseStatusRSS([]byte(give))
		assert.ErrorIs(t, err, ErrProc, "%q", give)
	}
}
