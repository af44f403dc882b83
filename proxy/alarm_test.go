package proxy

import (
	"net"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
)

func TestAlarmsReason(t *testing.T) {
	tests := []struct {
		name string
		set  []Resource
		want string
	}{
		{"none", nil, ""},
		{"disk", []Resource{ResourceDisk}, "low on disk"},
		{"memory", []Resource{ResourceMemory}, "low on memory"},
		{"both", []Resource{ResourceDisk, ResourceMemory}, "low on memory & low on disk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAlarms()
			_, changed := a.Alarm()
			for _, r := range tt.set {
				require.True(t, a.Set(r, true))
				require.False(t, a.Set(r, true), "raising twice changes nothing")
			}
			reason, _ := a.Alarm()
			require.Equal(t, tt.want, reason)
			select {
			case <-changed:
				require.NotEmpty(t, tt.set, "changed closed without a change")
			default:
				require.Empty(t, tt.set, "changed not closed after a change")
			}
			for _, r := range tt.set {
				require.True(t, a.Set(r, false))
			}
			reason, _ = a.Alarm()
			require.Empty(t, reason)
		})
	}
}

func waitBlocking(t *testing.T, bl <-chan amqp.Blocking) amqp.Blocking {
	t.Helper()
	select {
	case b := <-bl:
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no connection.blocked/unblocked within 5s")
	}
	return amqp.Blocking{}
}

func noBlocking(t *testing.T, bl <-chan amqp.Blocking) {
	t.Helper()
	select {
	case b := <-bl:
		t.Fatalf("unexpected %+v", b)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestAlarmBlocksPublishers raises an alarm, checks that only the
// publishing connection is blocked (with RabbitMQ's reason), that it
// survives several heartbeat intervals without being read, that consumers
// are still served, and that clearing the alarm unblocks it and lets the
// held publishes through in order.
func TestAlarmBlocksPublishers(t *testing.T) {
	for _, tt := range []struct {
		res    Resource
		reason string
	}{{ResourceDisk, "low on disk"}, {ResourceMemory, "low on memory"}} {
		t.Run(tt.reason, func(t *testing.T) {
			alarms := NewAlarms()
			ts := startServer(t, func(c *Config) { c.Heartbeat = 1; c.Alarms = alarms })
			hbCfg := amqp.Config{Heartbeat: time.Second}
			pub, err := amqp.DialConfig(ts.url, hbCfg)
			require.NoError(t, err)
			t.Cleanup(func() { _ = pub.Close() })
			sub, err := amqp.DialConfig(ts.url, hbCfg)
			require.NoError(t, err)
			t.Cleanup(func() { _ = sub.Close() })
			pubBlocked := pub.NotifyBlocked(make(chan amqp.Blocking, 4))
			subBlocked := sub.NotifyBlocked(make(chan amqp.Blocking, 4))
			pch, err := pub.Channel()
			require.NoError(t, err)
			sch, err := sub.Channel()
			require.NoError(t, err)
			q, err := sch.QueueDeclare("", false, false, true, false, nil)
			require.NoError(t, err)
			publish := func(body string) {
				require.NoError(t, pch.Publish("", q.Name, false, false, amqp.Publishing{Body: []byte(body)}))
			}
			publish("before")
			require.NoError(t, syncCh(pch))

			require.True(t, alarms.Set(tt.res, true))
			noBlocking(t, pubBlocked) // not publishing yet: not told
			publish("held-1")
			publish("held-2")
			require.Equal(t, amqp.Blocking{Active: true, Reason: tt.reason}, waitBlocking(t, pubBlocked))

			// Consumers are served while publishers are held.
			ds, err := sch.Consume(q.Name, "", true, false, false, false, nil)
			require.NoError(t, err)
			require.Equal(t, "before", string(recv(t, ds).Body))
			time.Sleep(3500 * time.Millisecond) // > 3 heartbeat intervals
			noDelivery(t, ds)
			require.False(t, pub.IsClosed(), "blocked publisher dropped")
			require.False(t, sub.IsClosed(), "consumer dropped")
			noBlocking(t, subBlocked) // never published: never blocked

			require.True(t, alarms.Set(tt.res, false))
			require.Equal(t, amqp.Blocking{Active: false}, waitBlocking(t, pubBlocked))
			require.Equal(t, "held-1", string(recv(t, ds).Body))
			require.Equal(t, "held-2", string(recv(t, ds).Body))
			publish("after")
			require.Equal(t, "after", string(recv(t, ds).Body))
			noBlocking(t, subBlocked)
		})
	}
}

// TestAlarmServerCloseWhileBlocked checks that a broker shutdown still
// closes a held connection with 320 rather than waiting on it.
func TestAlarmServerCloseWhileBlocked(t *testing.T) {
	alarms := NewAlarms()
	alarms.Set(ResourceDisk, true)
	ts := startServer(t, func(c *Config) { c.Alarms = alarms })
	c, ch := ts.channel(t)
	blocked := c.NotifyBlocked(make(chan amqp.Blocking, 1))
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	require.NoError(t, ch.Publish("", "nowhere", false, false, amqp.Publishing{Body: []byte("x")}))
	require.True(t, waitBlocking(t, blocked).Active)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ts.stop(t)
	}()
	select {
	case e := <-closed:
		require.NotNil(t, e)
		require.Equal(t, amqp.ConnectionForced, e.Code)
	case <-time.After(5 * time.Second):
		t.Fatal("held connection not closed by shutdown")
	}
	<-done
}

// TestAlarmWithoutCapability: a client that did not announce the
// connection.blocked capability is held all the same, but never sent
// connection.blocked or connection.unblocked.
func TestAlarmWithoutCapability(t *testing.T) {
	alarms := NewAlarms()
	alarms.Set(ResourceMemory, true)
	ts := startServer(t, func(c *Config) { c.Alarms = alarms })
	rc := dialRaw(t, ts)
	_, ok := rc.open("guest", false).(*amqpwire.ConnectionOpenOk)
	require.True(t, ok)
	rc.method(1, &amqpwire.ChannelOpen{})
	_, ok = rc.next().(*amqpwire.ChannelOpenOk)
	require.True(t, ok)
	rc.method(1, &amqpwire.BasicPublish{RoutingKey: "nowhere"})
	rc.write(amqpwire.AppendHeaderFrame(nil, 1, 60, 0, []byte{0, 0}))
	rc.method(1, &amqpwire.QueueDeclare{Queue: "after-the-alarm"})

	_ = rc.nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := rc.r.ReadFrame()
	var ne net.Error
	require.ErrorAs(t, err, &ne, "held: nothing is read, nothing is sent")
	require.True(t, ne.Timeout())

	// Nothing was sent, so the timed-out read left the reader in step.
	_ = rc.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	alarms.Set(ResourceMemory, false)
	m := rc.next()
	dok, ok := m.(*amqpwire.QueueDeclareOk)
	require.True(t, ok, "got %s, want queue.declare-ok and no connection.unblocked", m.Name())
	require.Equal(t, "after-the-alarm", dok.Queue)
}
