package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/warren-mq/warren/amqpwire"
)

// Version is the version Warren announces in connection.start.
const Version = "0.1.0"

// handshakeTimeout bounds the handshake, as RabbitMQ's handshake_timeout.
const handshakeTimeout = 10 * time.Second

// serverProperties are announced in connection.start, shaped like
// RabbitMQ's so that clients enable the same features.
func serverProperties() amqpwire.Table {
	return amqpwire.Table{
		"product":      "Warren",
		"version":      Version,
		"platform":     "Go",
		"copyright":    "Warren authors",
		"information":  "Warren: a RabbitMQ-compatible broker over a log-structured store",
		"cluster_name": "warren",
		"capabilities": amqpwire.Table{
			"publisher_confirms":           true,
			"exchange_exchange_bindings":   true,
			"basic.nack":                   true,
			"consumer_cancel_notify":       true,
			"connection.blocked":           true,
			"consumer_priorities":          true,
			"authentication_failure_close": true,
			"per_consumer_qos":             true,
			"direct_reply_to":              true,
		},
	}
}

// handshake runs protocol header, start/start-ok, tune/tune-ok and open.
func (c *conn) handshake() error {
	_ = c.nc.SetReadDeadline(time.Now().Add(handshakeTimeout))
	if err := c.r.ReadProtocolHeader(); err != nil {
		if fromWire(err) != nil {
			c.send(func(dst []byte) []byte { return append(dst, amqpwire.ProtocolHeader...) })
		}
		return err
	}
	c.sendMethod(0, &amqpwire.ConnectionStart{
		VersionMajor: 0, VersionMinor: 9,
		ServerProperties: serverProperties(),
		Mechanisms:       "PLAIN AMQPLAIN",
		Locales:          "en_US",
	})
	var startOk amqpwire.ConnectionStartOk
	if err := c.expect(&startOk); err != nil {
		return err
	}
	c.clientProps = startOk.ClientProperties
	if caps, ok := startOk.ClientProperties["capabilities"].(amqpwire.Table); ok {
		c.cancelNotify, _ = caps["consumer_cancel_notify"].(bool)
	}
	if err := c.authenticate(&startOk); err != nil {
		return err
	}
	c.sendMethod(0, &amqpwire.ConnectionTune{
		ChannelMax: c.srv.cfg.ChannelMax, FrameMax: c.srv.cfg.FrameMax, Heartbeat: c.srv.cfg.Heartbeat,
	})
	var tuneOk amqpwire.ConnectionTuneOk
	if err := c.expect(&tuneOk); err != nil {
		return err
	}
	if err := c.tune(&tuneOk); err != nil {
		return err
	}
	var open amqpwire.ConnectionOpen
	if err := c.expect(&open); err != nil {
		return err
	}
	return c.open(&open)
}

// expect reads the next frame, which must be method m on channel 0.
func (c *conn) expect(m amqpwire.Method) error {
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			if pe := fromWire(err); pe != nil {
				c.closeConnection(pe)
			}
			return err
		}
		if f.Type == amqpwire.FrameHeartbeat {
			continue
		}
		if f.Type != amqpwire.FrameMethod || f.Channel != 0 {
			pe := errorf(amqpwire.CommandInvalid, nil, "expected %s", m.Name())
			c.closeConnection(pe)
			return pe
		}
		cls, mth, args, err := amqpwire.MethodIDs(f.Payload)
		if err == nil && (cls != m.ClassID() || mth != m.MethodID()) {
			if cls == amqpwire.ClassConnection && mth == methodConnectionClose {
				c.sendMethod(0, &amqpwire.ConnectionCloseOk{})
				return errConnDone
			}
			err = errorf(amqpwire.CommandInvalid, nil, "expected %s", m.Name())
		}
		if err == nil {
			err = m.DecodeArgs(args)
		}
		if err != nil {
			c.closeConnection(asProto(err, m))
			return err
		}
		return nil
	}
}

// authenticate checks start-ok's credentials. A refusal is told with
// connection.close 403 when the client announced
// authentication_failure_close, and by closing the socket otherwise, as
// RabbitMQ does.
func (c *conn) authenticate(ok *amqpwire.ConnectionStartOk) error {
	user, pass, err := credentials(ok.Mechanism, []byte(ok.Response))
	if err != nil {
		pe := errorf(amqpwire.AccessRefused, ok, "%v", err)
		c.refuse(pe)
		return pe
	}
	ctx, cancel := context.WithTimeout(c.ctx, handshakeTimeout)
	defer cancel()
	u, err := c.srv.md.Authenticate(ctx, user, pass)
	if err == nil && !c.srv.loginAllowed(user, c.nc.RemoteAddr()) {
		// RabbitMQ checks loopback_users after the password and refuses
		// the same way.
		err = fmt.Errorf("user '%s' can only connect via localhost", user)
	}
	if err != nil {
		c.log.Info("proxy: login refused", "user", user, "mechanism", ok.Mechanism, "err", err)
		pe := errorf(amqpwire.AccessRefused, ok,
			"Login was refused using authentication mechanism %s. For details see the broker logfile.", ok.Mechanism)
		c.refuse(pe)
		return pe
	}
	c.user, c.authMechanism = user, ok.Mechanism
	c.impersonator = u != nil && slices.Contains(u.Tags, tagImpersonator)
	return nil
}

func (c *conn) refuse(pe *protoError) {
	caps, _ := c.clientProps["capabilities"].(amqpwire.Table)
	if failClose, _ := caps["authentication_failure_close"].(bool); failClose {
		c.closeConnection(pe)
	}
}

// errBadMechanism and errBadResponse explain refused start-ok responses.
var (
	errBadMechanism = errors.New("unsupported authentication mechanism")
	errBadResponse  = errors.New("malformed authentication response")
)

// credentials extracts user and password from a PLAIN response
// ("authzid\x00user\x00password") or an AMQPLAIN one (a field table without
// its length prefix holding LOGIN and PASSWORD).
func credentials(mechanism string, resp []byte) (string, string, error) {
	switch mechanism {
	case "PLAIN":
		parts := bytes.SplitN(resp, []byte{0}, 3)
		if len(parts) != 3 {
			return "", "", errBadResponse
		}
		return string(parts[1]), string(parts[2]), nil
	case "AMQPLAIN":
		t, err := amqpwire.DecodeTable(resp)
		if err != nil {
			return "", "", errBadResponse
		}
		user, ok1 := t["LOGIN"].(string)
		pass, ok2 := t["PASSWORD"].(string)
		if !ok1 || !ok2 {
			return "", "", errBadResponse
		}
		return user, pass, nil
	}
	return "", "", fmt.Errorf("%w %q", errBadMechanism, mechanism)
}

// tune applies tune-ok: channel_max and frame_max must be within the offer
// (0, "no limit", is above any offer) and frame_max at least 4096. A value
// outside is refused as RabbitMQ refuses it: no connection.close, the
// socket is closed (its log tells why).
func (c *conn) tune(ok *amqpwire.ConnectionTuneOk) error {
	if err := negotiate("channel_max", uint32(ok.ChannelMax), 0, uint32(c.srv.cfg.ChannelMax)); err != nil {
		c.log.Info("proxy: failed to negotiate connection parameters", "err", err)
		return err
	}
	if err := negotiate("frame_max", ok.FrameMax, amqpwire.FrameMinSize, c.srv.cfg.FrameMax); err != nil {
		c.log.Info("proxy: failed to negotiate connection parameters", "err", err)
		return err
	}
	c.channelMax, c.frameMax = ok.ChannelMax, ok.FrameMax
	c.r.SetFrameMax(c.frameMax)
	c.heartbeat.Store(uint32(ok.Heartbeat))
	c.signal() // the writer picks up the heartbeat interval
	return nil
}

// negotiate checks a tune-ok value against the minimum and the server's
// offer, with RabbitMQ's wording.
func negotiate(field string, client, minimum, offer uint32) error {
	if client != 0 && client < minimum {
		return errorf(amqpwire.NotAllowed, &amqpwire.ConnectionTune{},
			"negotiated %s = %d is lower than the minimum allowed value (%d)", field, client, minimum)
	}
	if client == 0 || client > offer {
		detail := ""
		if client == 0 && field == "channel_max" {
			detail = " (no limit)"
		}
		return errorf(amqpwire.NotAllowed, &amqpwire.ConnectionTune{},
			"negotiated %s = %d%s is higher than the maximum allowed value (%d)", field, client, detail, offer)
	}
	return nil
}

// open handles connection.open: the vhost must exist and the user must have
// a permission on it.
func (c *conn) open(m *amqpwire.ConnectionOpen) error {
	exists, allowed := c.srv.topo.access(c.user, m.VirtualHost)
	var pe *protoError
	switch {
	case !exists:
		pe = errorf(amqpwire.NotAllowed, m, "vhost %s not found", m.VirtualHost)
	case !allowed:
		pe = errorf(amqpwire.NotAllowed, m, "access to vhost '%s' refused for user '%s'", m.VirtualHost, c.user)
	}
	if pe != nil {
		c.closeConnection(pe)
		return pe
	}
	ns, _ := c.srv.topo.namespace(m.VirtualHost)
	c.vhost, c.ns = m.VirtualHost, ns
	c.opened.Store(true)
	_ = c.nc.SetReadDeadline(time.Time{})
	c.sendMethod(0, &amqpwire.ConnectionOpenOk{})
	return nil
}
