package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ErrConfig reports bad flags.
var ErrConfig = errors.New("bench: config")

// Scenarios lists every scenario the tool runs, in the order compare.sh
// runs them.
var scenarioNames = []string{"publish", "publish-confirm", "consume", "pubsub", "fanout", "topic", "backlog"}

// Scenarios returns the names of the scenarios.
func Scenarios() []string { return slices.Clone(scenarioNames) }

// Config is one run of the load tool. Flag names follow RabbitMQ PerfTest
// where PerfTest has one (its long forms: --producers, --consumers, --rate,
// --size, --qos, --confirm, --time, --pmessages …).
type Config struct {
	URI          string
	Scenario     string
	Label        string // names the run in summaries; default Scenario
	Target       string // names the broker in summaries; default the URI's host:port
	Time         time.Duration
	Count        int64 // messages to publish in the measured phase, 0 = until Time
	Fill         int64 // messages to pre-fill (consume, backlog)
	FillTime     time.Duration
	Producers    int
	Consumers    int
	Size         int
	Rate         float64 // total msgs/s over all producers; 0 = as fast as possible
	Confirm      int     // publisher-confirm window per producer
	Qos          int     // consumer prefetch
	Queues       int     // fanout and topic
	MaxLag       int64   // deliveries outstanding before producers wait (max-rate pubsub, fanout, topic)
	Transient    bool    // non-durable queues, non-persistent messages
	ServerPID    int
	ExpectServer string // the server's "product" property must be this
	JSON         bool
	Interval     time.Duration
	procRoot     string
	fillForced   bool
}

// ParseFlags reads the load tool's flags (without the program and
// subcommand names). Usage goes to output.
func ParseFlags(args []string, output io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("warren bench", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&c.URI, "uri", "amqp://guest:guest@127.0.0.1:5672/", "AMQP 0-9-1 URL of the broker")
	fs.StringVar(&c.Scenario, "scenario", "publish", "one of "+strings.Join(scenarioNames, ", "))
	fs.StringVar(&c.Label, "label", "", "name of this run in the summary (default: the scenario)")
	fs.StringVar(&c.Target, "target", "", "name of the broker in the summary (default: host:port of --uri)")
	fs.DurationVar(&c.Time, "time", 15*time.Second, "length of the measured phase")
	fs.Int64Var(&c.Count, "pmessages", 0, "messages to publish in the measured phase (0: until --time)")
	fs.Int64Var(&c.Fill, "fill", 0, "messages to pre-fill for consume (default 100000) and backlog (default 20000000)")
	fs.DurationVar(&c.FillTime, "fill-time", 0, "bound on the pre-fill phase (default 2m for consume, 2h for backlog)")
	fs.IntVar(&c.Producers, "producers", 4, "publisher connections")
	fs.IntVar(&c.Consumers, "consumers", 4, "consumer connections")
	fs.IntVar(&c.Size, "size", 1024, "message body size in bytes (at least 8: the send timestamp)")
	fs.Float64Var(&c.Rate, "rate", 0, "total publish rate in msgs/s over all producers (0: as fast as possible)")
	fs.IntVar(&c.Confirm, "confirm", 256, "outstanding publisher confirms per producer (publish-confirm, fills)")
	fs.IntVar(&c.Qos, "qos", 100, "consumer prefetch count")
	fs.IntVar(&c.Queues, "queues", 0, "queues for fanout (default 10) and topic (default 100)")
	fs.Int64Var(&c.MaxLag, "max-lag", 20_000, "at max rate with consumers, producers wait while this many deliveries are unconsumed (0: never wait)")
	fs.BoolVar(&c.Transient, "transient", false, "non-durable queues and non-persistent messages")
	fs.StringVar(&c.ExpectServer, "expect-server", "", `fail unless the broker's "product" property is this (e.g. RabbitMQ, Warren)`)
	fs.IntVar(&c.ServerPID, "server-pid", 0, "broker process id: report its CPU seconds per million messages and its RSS")
	fs.BoolVar(&c.JSON, "json", false, "print JSON lines instead of text")
	fs.DurationVar(&c.Interval, "interval", time.Second, "progress line interval")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected arguments %q", ErrConfig, fs.Args())
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "fill" {
			c.fillForced = true
		}
	})
	c.applyDefaults()
	return c, c.validate()
}

func (c *Config) applyDefaults() {
	if c.Label == "" {
		c.Label = c.Scenario
	}
	if c.Target == "" {
		if u, err := url.Parse(c.URI); err == nil {
			c.Target = u.Host
		}
	}
	if c.Queues == 0 {
		switch c.Scenario {
		case "fanout":
			c.Queues = 10
		case "topic":
			c.Queues = topicQueues
		default:
			c.Queues = 1
		}
	}
	if !c.fillForced {
		switch c.Scenario {
		case "consume":
			c.Fill = 100_000
		case "backlog":
			c.Fill = 20_000_000
		}
	}
	if c.FillTime == 0 {
		c.FillTime = 2 * time.Minute
		if c.Scenario == "backlog" {
			c.FillTime = 2 * time.Hour
		}
	}
	if c.procRoot == "" {
		c.procRoot = "/proc"
	}
}

func (c *Config) validate() error {
	var errs []string
	if !slices.Contains(scenarioNames, c.Scenario) {
		errs = append(errs, fmt.Sprintf("unknown --scenario %q", c.Scenario))
	}
	if u, err := url.Parse(c.URI); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") {
		errs = append(errs, fmt.Sprintf("--uri %q is not an amqp:// or amqps:// URL", c.URI))
	}
	if c.Size < 8 {
		errs = append(errs, "--size must be at least 8")
	}
	if c.Time <= 0 || c.Interval <= 0 {
		errs = append(errs, "--time and --interval must be positive")
	}
	if c.Producers < 1 || c.Consumers < 1 || c.Confirm < 1 || c.Qos < 0 || c.Queues < 1 {
		errs = append(errs, "--producers, --consumers, --confirm and --queues must be at least 1, --qos at least 0")
	}
	if c.Rate < 0 || c.Count < 0 || c.Fill < 0 || c.MaxLag < 0 {
		errs = append(errs, "--rate, --pmessages, --fill and --max-lag must not be negative")
	}
	if c.Scenario == "topic" && c.Queues != topicQueues {
		errs = append(errs, fmt.Sprintf("topic uses exactly %d queues", topicQueues))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(errs, "; "))
	}
	return nil
}
