package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// config is everything the warren binary is told, from flags, WARREN_*
// environment variables and defaults, in that order of precedence.
type config struct {
	AMQPAddr  string
	HTTPAddr  string
	DataDir   string
	PprofAddr string
	LogLevel  string
	// AMQPSAddr, TLSCert and TLSKey configure the amqps listener (off when
	// AMQPSAddr is empty).
	AMQPSAddr string
	TLSCert   string
	TLSKey    string
	// LoopbackUsers is a comma list of users allowed only from loopback
	// (RabbitMQ's loopback_users); empty lets every user in from anywhere.
	LoopbackUsers string
	// DiskFreeLimit (bytes, or with a kB/MB/GB/TB/PB or KiB..PiB suffix)
	// and MemoryHighWatermark (fraction of RAM) raise the resource alarms
	// that block publishers, as RabbitMQ's disk_free_limit and
	// vm_memory_high_watermark (alarms.go).
	DiskFreeLimit       string
	MemoryHighWatermark string
}

// setting ties a flag to its environment variable and default.
type setting struct {
	flag, env, def, usage string
	dst                   *string
}

func (c *config) settings() []setting {
	return []setting{
		{"amqp-addr", "WARREN_AMQP_ADDR", ":5672", "AMQP listen address", &c.AMQPAddr},
		{"http-addr", "WARREN_HTTP_ADDR", ":15672", "admin HTTP API listen address", &c.HTTPAddr},
		{"data-dir", "WARREN_DATA_DIR", "./data", "directory for the commit log and metadata", &c.DataDir},
		{"pprof-addr", "WARREN_PPROF_ADDR", "", "serve net/http/pprof on this loopback address (off when empty)", &c.PprofAddr},
		{"log-level", "WARREN_LOG_LEVEL", "info", "log level: debug, info, warn, error", &c.LogLevel},
		{"amqps-addr", "WARREN_AMQPS_ADDR", "", "AMQP over TLS listen address, e.g. :5671 (off when empty)", &c.AMQPSAddr},
		{"tls-cert", "WARREN_TLS_CERT", "", "PEM certificate (chain) file for the amqps listener", &c.TLSCert},
		{"tls-key", "WARREN_TLS_KEY", "", "PEM private key file for the amqps listener", &c.TLSKey},
		{"loopback-users", "WARREN_LOOPBACK_USERS", "guest", "comma list of users allowed to log in only from loopback (empty: none)", &c.LoopbackUsers},
		{"disk-free-limit", "WARREN_DISK_FREE_LIMIT", "50000000", "block publishers while the data dir's file system has less free space (bytes, or e.g. 50MB, 2GiB; 0: never)", &c.DiskFreeLimit},
		{"memory-high-watermark", "WARREN_MEMORY_HIGH_WATERMARK", "0.4", "block publishers while the process uses more than this fraction of RAM (0: always)", &c.MemoryHighWatermark},
	}
}

// parseConfig reads args (without the program name) and the environment,
// given as a lookup function so tests need not touch the process's.
func parseConfig(args []string, getenv func(string) string, output io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("warren", flag.ContinueOnError)
	fs.SetOutput(output)
	for _, s := range c.settings() {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		fs.StringVar(s.dst, s.flag, def, fmt.Sprintf("%s (env %s, default %q)", s.usage, s.env, s.def))
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("warren: unexpected arguments %q", fs.Args())
	}
	if err := c.validate(); err != nil {
		return config{}, err
	}
	return c, nil
}

func (c *config) validate() error {
	if c.DataDir == "" {
		return fmt.Errorf("warren: --data-dir must not be empty")
	}
	if c.PprofAddr != "" && !isLoopback(c.PprofAddr) {
		return fmt.Errorf("warren: --pprof-addr %q must be a loopback address (127.0.0.1:port or [::1]:port)", c.PprofAddr)
	}
	if c.AMQPSAddr != "" && (c.TLSCert == "" || c.TLSKey == "") {
		return fmt.Errorf("warren: --amqps-addr needs --tls-cert and --tls-key")
	}
	if err := c.validateAlarms(); err != nil {
		return err
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("warren: unknown --log-level %q", c.LogLevel)
	}
	return nil
}

// loopbackUsers splits the --loopback-users comma list; an empty list is
// non-nil, so that the proxy lets every user in from anywhere.
func (c *config) loopbackUsers() []string {
	users := []string{}
	for _, u := range strings.Split(c.LoopbackUsers, ",") {
		if u = strings.TrimSpace(u); u != "" {
			users = append(users, u)
		}
	}
	return users
}

func isLoopback(addr string) bool {
	return strings.HasPrefix(addr, "127.") || strings.HasPrefix(addr, "localhost:") || strings.HasPrefix(addr, "[::1]:")
}

// ensureDir creates the data directory when missing.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("warren: data dir: %w", err)
	}
	return nil
}
