// Package bench is Warren's load tool, `warren bench`: it drives any AMQP
// 0-9-1 broker (Warren, RabbitMQ) through github.com/rabbitmq/amqp091-go and
// measures throughput, end-to-end latency and, given the broker's process id,
// the broker's CPU time and memory. Flags and output follow RabbitMQ
// PerfTest's habits: a progress line per interval, a summary, and JSON lines
// with --json.
//
// # Scenarios
//
// 1 KiB bodies, durable queues and persistent messages unless told
// otherwise; 4 producer and 4 consumer connections; names are prefixed
// warren-bench-<label>-<random> and deleted at the end, on failure too.
//
//	publish          P producers → default exchange → 1 queue, no confirms
//	publish-confirm  the same with confirms, a window of --confirm per producer
//	consume          pre-fill --fill (100k) with confirms, then drain with C
//	                 consumers, manual ack of each message, prefetch --qos
//	pubsub           producers and consumers at once on 1 queue; at max rate
//	                 the headline is msg/s consumed, with --rate it is p99
//	fanout           1 fanout exchange → --queues (10) queues, one consumer each
//	topic            1 topic exchange → 100 queues bound with * and # patterns;
//	                 keys reach 1 to 6 queues (see topicTopology)
//	backlog          consume with --fill 20M: the server's RSS is sampled
//	                 every interval through fill and drain
//
// A run has at most two phases, "fill" (bounded by --fill-time) and "run"
// (bounded by --time, by --pmessages, or by the drain of the fill). The
// clock of a phase starts once its connections are open and its consumers
// subscribed.
//
// # Measurements
//
// Each message's first 8 body bytes hold its intended send time (Unix ns,
// big-endian). Consumers record now minus that time into a Histogram (µs,
// <1.6% relative error). At max rate the intended time is the send time; at
// a fixed --rate each producer follows a Schedule (fixed timeline, due times
// never slip), so a stalled broker shows as latency of every message that
// should have been sent meanwhile: coordinated omission is avoided.
//
// With --server-pid the tool reads /proc/PID/stat (utime+stime, in USER_HZ
// ticks) before and after the measured phase and /proc/PID/status (VmRSS)
// every interval. Server CPU seconds per million messages are per million
// deliveries when the phase consumes, per million publishes otherwise.
//
// # Output
//
// Text:
//
//	time: 1.000s, sent: 12345 msg/s, received: 12000 msg/s, latency p50/p99/p99.9: 1.20/3.40/5.60 ms, server rss: 120 MiB
//	summary: publish on rabbitmq
//	summary: 15.0 s, sending rate avg: 13899 msg/s, receiving rate avg: 0 msg/s
//
// JSON lines (--json): {"type":"progress",…} per interval and one
// {"type":"summary",…} (see Progress and Summary). `warren bench table
// FILE…` reads summaries and prints the markdown comparison of
// bench/compare.sh: medians per label and target, and their ratio.
package bench
