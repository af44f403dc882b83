package proxy

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warren-mq/warren/amqpwire"
)

// Resource alarms, as RabbitMQ 3.10 raises them:
//
//	alarm raised ──► a connection that publishes (now or later) gets
//	                 connection.blocked{reason} (if it announced the
//	                 connection.blocked capability) and is no longer read;
//	                 the writer keeps delivering and heartbeating, and the
//	                 missing client heartbeats are not held against it
//	alarm cleared ─► connection.unblocked to every connection told it was
//	                 blocked; reading resumes, held publishes go through
//
// Connections that never publish during an alarm are not told anything.

// Resource names what an alarm is about.
type Resource uint8

// The resources a monitor can raise an alarm for.
const (
	ResourceMemory Resource = iota
	ResourceDisk
	numResources
)

// reasonText is RabbitMQ's connection.blocked reason per resource.
var reasonText = [numResources]string{ResourceMemory: "low on memory", ResourceDisk: "low on disk"}

// AlarmSource tells the proxy whether publishers must be blocked.
type AlarmSource interface {
	// Alarm returns the reason to block publishers with, "" when no alarm
	// is active, and a channel closed at the next change.
	Alarm() (reason string, changed <-chan struct{})
}

// Alarms is an AlarmSource that monitors (or tests) raise and clear. Alarm
// is lock-free, cheap enough to call on every publish.
type Alarms struct {
	mu     sync.Mutex
	active [numResources]bool
	cur    atomic.Pointer[alarmSnapshot]
}

type alarmSnapshot struct {
	reason  string
	changed chan struct{}
}

// NewAlarms returns a source with no alarm active.
func NewAlarms() *Alarms {
	a := &Alarms{}
	a.cur.Store(&alarmSnapshot{changed: make(chan struct{})})
	return a
}

// Alarm implements AlarmSource.
func (a *Alarms) Alarm() (string, <-chan struct{}) {
	s := a.cur.Load()
	return s.reason, s.changed
}

// Set raises (on) or clears the alarm for r; it reports whether that
// changed anything.
func (a *Alarms) Set(r Resource, on bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r >= numResources || a.active[r] == on {
		return false
	}
	a.active[r] = on
	var reasons []string
	for res, act := range a.active {
		if act {
			reasons = append(reasons, reasonText[res])
		}
	}
	old := a.cur.Load()
	a.cur.Store(&alarmSnapshot{reason: strings.Join(reasons, " & "), changed: make(chan struct{})})
	close(old.changed)
	return true
}

// raised reports whether the alarm for r is raised.
func (a *Alarms) raised(r Resource) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return r < numResources && a.active[r]
}

// alarmState is the reader's view of resource alarms for one connection.
type alarmState struct {
	publishing bool // a basic.publish arrived while an alarm was active
	notified   bool // connection.blocked sent, connection.unblocked owed
}

// blockPoll is how often a blocked reader checks whether its connection
// is closing.
const blockPoll = 100 * time.Millisecond

// notePublish marks the connection for blocking when f is a basic.publish
// arriving while an alarm is active. Reader only.
func (c *conn) notePublish(f amqpwire.Frame) {
	src := c.srv.cfg.Alarms
	if src == nil || f.Type != amqpwire.FrameMethod || f.Channel == 0 || len(f.Payload) < 4 {
		return
	}
	p := f.Payload
	if p[0] != 0 || p[1] != byte(amqpwire.ClassBasic) || p[2] != 0 || p[3] != methodBasicPublish {
		return
	}
	if reason, _ := src.Alarm(); reason != "" {
		c.alarm.publishing = true
	}
}

// holdWhileBlocked stops reading a connection that published during an
// alarm until the alarm clears, the connection closes or the server stops.
// The read deadline is lifted meanwhile: the client's heartbeats wait in
// the socket, as RabbitMQ pauses its heartbeat monitor. Reader only.
func (c *conn) holdWhileBlocked() error {
	if !c.alarm.publishing {
		return nil
	}
	c.alarm.publishing = false
	src := c.srv.cfg.Alarms
	tick := time.NewTicker(blockPoll)
	defer tick.Stop()
	held := false
	for {
		if c.isClosing() {
			if held { // closeConnection's deadline may have been lifted
				_ = c.nc.SetReadDeadline(time.Now().Add(closeTimeout))
			}
			return nil
		}
		reason, changed := src.Alarm()
		if reason == "" {
			break
		}
		if !held {
			held = true
			c.lastRead = time.Time{}
			_ = c.nc.SetReadDeadline(time.Time{})
			if c.wantsBlocked() {
				c.sendMethod(0, &amqpwire.ConnectionBlocked{Reason: reason})
				c.alarm.notified = true
			}
			c.setStateUnlessClosing("blocked")
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-c.ctx.Done():
			return c.ctx.Err()
		}
	}
	if c.alarm.notified {
		c.alarm.notified = false
		c.sendMethod(0, &amqpwire.ConnectionUnblocked{})
	}
	if held {
		c.setStateUnlessClosing("running")
	}
	return nil
}

// wantsBlocked reports whether the client announced the connection.blocked
// capability.
func (c *conn) wantsBlocked() bool {
	caps, _ := c.clientProps["capabilities"].(amqpwire.Table)
	b, _ := caps["connection.blocked"].(bool)
	return b
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.closing
}

func (c *conn) setStateUnlessClosing(s string) {
	c.mu.Lock()
	if !c.mu.closing {
		c.mu.state = s
	}
	c.mu.Unlock()
}
