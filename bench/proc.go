package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrProc reports a /proc file that could not be read or parsed.
var ErrProc = errors.New("bench: /proc")

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. The
// kernel exports 100 to user space on every architecture Go supports on
// Linux, whatever CONFIG_HZ is.
const clockTicks = 100

// ProcReader reads a process's CPU time and resident memory from a /proc
// tree (normally "/proc"; tests point it at a directory of fixtures).
type ProcReader struct {
	Root string
	PID  int
}

// CPU returns the process's user plus system CPU time.
func (p ProcReader) CPU() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", p.Root, p.PID))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrProc, err)
	}
	return parseStatCPU(b)
}

// RSS returns the process's resident set size in bytes (VmRSS).
func (p ProcReader) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/status", p.Root, p.PID))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrProc, err)
	}
	return parseStatusRSS(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15) from the contents of
// /proc/PID/stat. The command name (field 2) is in parentheses and may hold
// spaces and parentheses itself, so fields are counted from the last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: stat without a command name", ErrProc)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state), so field n is fields[n-3].
	if len(fields) < 13 {
		return 0, fmt.Errorf("%w: stat has %d fields after the command name", ErrProc, len(fields))
	}
	var ticks uint64
	for _, f := range fields[11:13] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: stat cpu field %q: %w", ErrProc, f, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// parseStatusRSS reads the VmRSS line ("VmRSS:    1234 kB") of
// /proc/PID/status.
func parseStatusRSS(b []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%w: VmRSS line %q", ErrProc, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: VmRSS line %q: %w", ErrProc, line, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%w: status has no VmRSS line", ErrProc)
}
