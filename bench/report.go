package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Progress is one progress line: rates over the last interval.
type Progress struct {
	Type     string  `json:"type"` // "progress"
	Label    string  `json:"label"`
	Target   string  `json:"target"`
	Phase    string  `json:"phase"` // "fill" or "run"
	Time     float64 `json:"time_s"`
	Sent     float64 `json:"sent_per_s"`
	Received float64 `json:"received_per_s"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	P999     float64 `json:"p999_ms"`
	RSSMiB   float64 `json:"server_rss_mib,omitempty"`
}

// Summary is the result of one run. The headline figure is Value, in Unit;
// LowerIsBetter says which way it wins. CPUPerMillion is the server's CPU
// seconds per million messages (per million deliveries when the run
// consumes, per million publishes otherwise), over the measured phase.
type Summary struct {
	Type          string  `json:"type"` // "summary"
	Scenario      string  `json:"scenario"`
	Label         string  `json:"label"`
	Target        string  `json:"target"`
	Server        string  `json:"server,omitempty"` // product and version the broker announced
	Queues        int     `json:"queues"`
	Rate          float64 `json:"rate,omitempty"`
	Duration      float64 `json:"duration_s"`
	Sent          int64   `json:"sent"`
	Received      int64   `json:"received"`
	Confirmed     int64   `json:"confirmed"`
	Nacked        int64   `json:"nacked"`
	SendRate      float64 `json:"send_rate"`
	ReceiveRate   float64 `json:"receive_rate"`
	P50           float64 `json:"p50_ms"`
	P99           float64 `json:"p99_ms"`
	P999          float64 `json:"p999_ms"`
	Filled        int64   `json:"filled,omitempty"`
	FillRate      float64 `json:"fill_rate,omitempty"`
	ServerCPU     float64 `json:"server_cpu_s,omitempty"`
	CPUPerMillion float64 `json:"cpu_s_per_million,omitempty"`
	RSSMaxMiB     float64 `json:"server_rss_max_mib,omitempty"`
	Unit          string  `json:"unit"`
	Value         float64 `json:"value"`
	LowerIsBetter bool    `json:"lower_is_better,omitempty"`
	Error         string  `json:"error,omitempty"`
}

// printer writes progress lines and summaries as text or JSON lines.
type printer struct {
	w    io.Writer
	json bool
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func (p printer) progress(pr Progress) error {
	if p.json {
		return writeJSON(p.w, pr)
	}
	var b strings.Builder
	if pr.Phase != "run" {
		fmt.Fprintf(&b, "%s ", pr.Phase)
	}
	fmt.Fprintf(&b, "time: %.3fs, sent: %.0f msg/s, received: %.0f msg/s", pr.Time, pr.Sent, pr.Received)
	if pr.P50 > 0 || pr.P99 > 0 {
		fmt.Fprintf(&b, ", latency p50/p99/p99.9: %s/%s/%s ms", fmtMS(pr.P50), fmtMS(pr.P99), fmtMS(pr.P999))
	}
	if pr.RSSMiB > 0 {
		fmt.Fprintf(&b, ", server rss: %.0f MiB", pr.RSSMiB)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(p.w, b.String())
	return err
}

func fmtMS(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func (p printer) summary(s Summary) error {
	if p.json {
		return writeJSON(p.w, s)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "summary: %s on %s", s.Label, s.Target)
	if s.Server != "" {
		fmt.Fprintf(&b, " (%s)", s.Server)
	}
	if s.Error != "" {
		fmt.Fprintf(&b, " FAILED: %s", s.Error)
	}
	fmt.Fprintf(&b, "\nsummary: %.1f s, sending rate avg: %.0f msg/s, receiving rate avg: %.0f msg/s\n",
		s.Duration, s.SendRate, s.ReceiveRate)
	fmt.Fprintf(&b, "summary: sent %d, received %d, confirmed %d, nacked %d\n", s.Sent, s.Received, s.Confirmed, s.Nacked)
	if s.Filled > 0 {
		fmt.Fprintf(&b, "summary: pre-filled %d messages at %.0f msg/s\n", s.Filled, s.FillRate)
	}
	if s.Received > 0 {
		fmt.Fprintf(&b, "summary: latency p50/p99/p99.9: %s/%s/%s ms\n", fmtMS(s.P50), fmtMS(s.P99), fmtMS(s.P999))
	}
	if s.ServerCPU > 0 {
		fmt.Fprintf(&b, "summary: server cpu %.2f s, %.2f cpu-s per million msgs, rss max %.0f MiB\n",
			s.ServerCPU, s.CPUPerMillion, s.RSSMaxMiB)
	}
	fmt.Fprintf(&b, "summary: %s = %.2f %s\n", s.Label, s.Value, s.Unit)
	_, err := io.WriteString(p.w, b.String())
	return err
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("bench: json: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
