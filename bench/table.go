package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ReadSummaries reads the summary records from JSON lines (progress lines
// and anything that is not JSON are skipped).
func ReadSummaries(r io.Reader) ([]Summary, error) {
	var out []Summary
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var s Summary
		if err := json.Unmarshal([]byte(line), &s); err != nil || s.Type != "summary" {
			continue
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bench: reading summaries: %w", err)
	}
	return out, nil
}

// cell is the medians of one label on one target.
type cell struct {
	runs, failed int
	value, cpu   float64
	rss, p99     float64
	unit         string
	lower        bool
	errs         []string
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(runs []Summary) cell {
	var c cell
	var values, cpus, rss, p99s []float64
	for _, s := range runs {
		c.runs++
		c.unit, c.lower = s.Unit, s.LowerIsBetter
		if s.Error != "" {
			c.failed++
			if !slices.Contains(c.errs, s.Error) {
				c.errs = append(c.errs, s.Error)
			}
			continue
		}
		values = append(values, s.Value)
		p99s = append(p99s, s.P99)
		if s.CPUPerMillion > 0 {
			cpus = append(cpus, s.CPUPerMillion)
		}
		if s.RSSMaxMiB > 0 {
			rss = append(rss, s.RSSMaxMiB)
		}
	}
	c.value, c.cpu, c.rss, c.p99 = median(values), median(cpus), median(rss), median(p99s)
	return c
}

// Table renders the medians of summaries as a markdown table comparing
// candidate with baseline (target names), one row per label in order of
// first appearance. The ratio is candidate/baseline for rates and
// baseline/candidate for latencies, so above 1 always means the candidate
// wins.
func Table(summaries []Summary, baseline, candidate string) string {
	var labels []string
	byKey := map[[2]string][]Summary{}
	for _, s := range summaries {
		if !slices.Contains(labels, s.Label) {
			labels = append(labels, s.Label)
		}
		k := [2]string{s.Label, s.Target}
		byKey[k] = append(byKey[k], s)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario | metric | %s | %s | ratio (>1: %s wins) | CPU s/M msgs %s | CPU s/M msgs %s | RSS max MiB %s / %s | runs | notes |\n",
		baseline, candidate, candidate, baseline, candidate, baseline, candidate)
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, l := range labels {
		base, cand := summarize(byKey[[2]string{l, baseline}]), summarize(byKey[[2]string{l, candidate}])
		unit := base.unit
		if unit == "" {
			unit = cand.unit
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s / %s | %d / %d | %s |\n",
			l, unit, value(base), value(cand), ratio(base, cand), num(base.cpu, 2), num(cand.cpu, 2),
			num(base.rss, 0), num(cand.rss, 0), base.runs, cand.runs, notes(baseline, base, candidate, cand))
	}
	return b.String()
}

func value(c cell) string {
	if c.runs == 0 {
		return "—"
	}
	if c.failed == c.runs {
		return "failed"
	}
	if c.lower {
		return num(c.value, 2)
	}
	return num(c.value, 0)
}

func num(v float64, digits int) string {
	if v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.*f", digits, v)
}

func ratio(base, cand cell) string {
	if base.runs == base.failed || cand.runs == cand.failed || base.value == 0 || cand.value == 0 {
		return "—"
	}
	if base.lower {
		return fmt.Sprintf("%.2f", base.value/cand.value)
	}
	return fmt.Sprintf("%.2f", cand.value/base.value)
}

func notes(bn string, base cell, cn string, cand cell) string {
	var n []string
	for _, x := range []struct {
		name string
		c    cell
	}{{bn, base}, {cn, cand}} {
		if x.c.failed > 0 {
			n = append(n, fmt.Sprintf("%s failed %d/%d: %s", x.name, x.c.failed, x.c.runs, shorten(strings.Join(x.c.errs, "; "), 160)))
		}
	}
	return strings.ReplaceAll(strings.Join(n, "; "), "|", "/")
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
