// Package e2e holds end-to-end tests that drive a broker over the network
// with real client libraries. By default each test starts the real warren
// binary (built once per run) on free loopback ports with its own data
// directory; with WARREN_E2E_URL (and WARREN_E2E_HTTP for the admin API) set,
// the same tests run against that external broker instead, which is how CI
// proves that RabbitMQ agrees with every test. WARREN_E2E_RESTART_CMD is the
// shell command that restarts the external broker for restart tests.
package e2e
