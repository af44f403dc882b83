package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Permissions as RabbitMQ 3.10 checks them: a user's configure, write and
// read regular expressions on a vhost, matched against queue and exchange
// names, refused with 403 ACCESS_REFUSED and the same texts.

// userPassword is the password of the users the permission tests create.
const userPassword = "e2e-secret"

// createUser creates a user with no tags through the admin API, deleted at
// cleanup.
func createUser(t *testing.T, b *broker) string {
	t.Helper()
	user := uniqueName(t, "user")
	status, out := api(t, b, http.MethodPut, "/api/users/"+url.PathEscape(user),
		map[string]any{"password": userPassword, "tags": ""})
	require.Equal(t, http.StatusCreated, status, "%s", out)
	t.Cleanup(func() { api(t, b, http.MethodDelete, "/api/users/"+url.PathEscape(user), nil) })
	return user
}

// grant sets user's permission on vhost through the admin API.
func grant(t *testing.T, b *broker, vhost, user, configure, write, read string) {
	t.Helper()
	status, out := api(t, b, http.MethodPut, "/api/permissions/"+url.PathEscape(vhost)+"/"+url.PathEscape(user),
		map[string]any{"configure": configure, "write": write, "read": read})
	require.Contains(t, []int{http.StatusCreated, http.StatusNoContent}, status, "%s", out)
}

// userURL is the broker's URL with user's credentials and vhost.
func userURL(t *testing.T, b *broker, user, password, vhost string) string {
	t.Helper()
	u, err := url.Parse(b.URL)
	require.NoError(t, err)
	u.User = url.UserPassword(user, password)
	u.Path = "/" + vhost
	return u.String()
}

// dialAs connects as user to vhost, waiting up to a second for an admin
// change to reach the AMQP side; the connection is closed at cleanup.
func dialAs(t *testing.T, b *broker, user, vhost string) *amqp.Connection {
	t.Helper()
	var conn *amqp.Connection
	var err error
	start := time.Now()
	for {
		conn, err = amqp.Dial(userURL(t, b, user, userPassword, vhost))
		if err == nil || time.Since(start) > within {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, err, "user %s cannot connect to vhost %s", user, vhost)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// refused is RabbitMQ's text for a refused access.
func refused(kind, name, vhost, user string) string {
	return "ACCESS_REFUSED - access to " + kind + " '" + name + "' in vhost '" + vhost + "' refused for user '" + user + "'"
}

// publishOutcome publishes on a confirm channel and returns nil once the
// message is confirmed, or the exception that closed the channel.
func publishOutcome(t *testing.T, ch *amqp.Channel, exchange, key string) error {
	t.Helper()
	return publishOutcomeOf(t, ch, exchange, key, body("m"))
}

// publishOutcomeOf is publishOutcome for the message msg.
func publishOutcomeOf(t *testing.T, ch *amqp.Channel, exchange, key string, msg amqp.Publishing) error {
	t.Helper()
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	require.NoError(t, ch.Confirm(false))
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx(t), exchange, key, false, false, msg)
	require.NoError(t, err)
	select {
	case <-dc.Done():
		if dc.Acked() {
			return nil
		}
	case <-time.After(10 * time.Second):
		t.Fatal("publish neither confirmed nor refused within 10 s")
	}
	select {
	case err := <-closed:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("publish nacked, channel not closed")
	}
	return nil
}

// permissionFixture is a vhost with a user allowed to configure "mine-*",
// write "mine-*" and "wr-*", and read "mine-*" and "rd-*", and objects
// guest declared there: exchanges rd-x, wr-x, none-x and mine-x (direct)
// and queues rd-q, wr-q, none-q and mine-q, each holding one message.
type permissionFixture struct {
	vhost, user string
	userConn    *amqp.Connection
}

func newPermissionFixture(t *testing.T, b *broker) permissionFixture {
	t.Helper()
	vhost, guest := dialNewVhost(t, b)
	user := createUser(t, b)
	grant(t, b, vhost, user, "^mine-", "^(mine|wr)-", "^(mine|rd)-")
	ch := freshChannel(t, guest)
	for _, name := range []string{"rd", "wr", "none", "mine"} {
		require.NoError(t, ch.ExchangeDeclare(name+"-x", amqp.ExchangeDirect, false, false, false, false, nil))
		_, err := ch.QueueDeclare(name+"-q", false, false, false, false, nil)
		require.NoError(t, err)
		publishConfirmedKeys(t, ch, "", []string{name + "-q"}, body(name))
	}
	return permissionFixture{vhost: vhost, user: user, userConn: dialAs(t, b, user, vhost)}
}

// permissionCase is one method tried as the fixture's user on a fresh
// channel: want is the exception's text, "" for success.
type permissionCase struct {
	name string
	give func(t *testing.T, ch *amqp.Channel) error
	want string
}

func runPermissionCases(t *testing.T, f permissionFixture, cases []permissionCase) {
	t.Helper()
	runCases(t, f.userConn, cases)
}

// runCases tries each case on a fresh channel of conn: want is "" for
// success, else the text of the 403 (or, for a missing object, the 404)
// that closes the channel.
func runCases(t *testing.T, conn *amqp.Connection, cases []permissionCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := freshChannel(t, conn)
			err := c.give(t, ch)
			if c.want == "" {
				require.NoError(t, err)
				require.NoError(t, ch.Close())
				return
			}
			var amqpErr *amqp.Error
			require.ErrorAs(t, err, &amqpErr)
			if amqpErr.Code == amqp.NotFound {
				assert.Equal(t, c.want, amqpErr.Reason)
				return
			}
			requireAMQPError(t, err, amqp.AccessRefused, c.want)
		})
	}
}

func declareQ(name string, args amqp.Table) func(*testing.T, *amqp.Channel) error {
	return func(_ *testing.T, ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(name, false, false, false, false, args)
		return err
	}
}

func declareX(name string, args amqp.Table) func(*testing.T, *amqp.Channel) error {
	return func(_ *testing.T, ch *amqp.Channel) error {
		return ch.ExchangeDeclare(name, amqp.ExchangeDirect, false, false, false, false, args)
	}
}

// TestPermissionsOnDeclareAndDelete: queue and exchange declare and delete
// need configure; a passive declare needs nothing; a dead-letter or
// alternate exchange argument needs write on that exchange.
func TestPermissionsOnDeclareAndDelete(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	f := newPermissionFixture(t, b)
	v, u := f.vhost, f.user
	runPermissionCases(t, f, []permissionCase{
		{"queue.declare new", declareQ("none-new-q", nil), refused("queue", "none-new-q", v, u)},
		{"queue.declare existing", declareQ("rd-q", nil), refused("queue", "rd-q", v, u)},
		{"queue.declare allowed", declareQ("mine-new-q", nil), ""},
		{"queue.declare passive", func(_ *testing.T, ch *amqp.Channel) error {
			_, err := ch.QueueDeclarePassive("none-q", false, false, false, false, nil)
			return err
		}, ""},
		{"queue.declare dead-letter exchange not writable",
			declareQ("mine-dl1-q", amqp.Table{"x-dead-letter-exchange": "rd-x"}), refused("exchange", "rd-x", v, u)},
		{"queue.declare dead-letter exchange writable",
			declareQ("mine-dl2-q", amqp.Table{"x-dead-letter-exchange": "wr-x"}), ""},
		{"exchange.declare new", declareX("none-new-x", nil), refused("exchange", "none-new-x", v, u)},
		{"exchange.declare existing", declareX("wr-x", nil), refused("exchange", "wr-x", v, u)},
		{"exchange.declare allowed", declareX("mine-new-x", nil), ""},
		{"exchange.declare passive", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.ExchangeDeclarePassive("none-x", amqp.ExchangeDirect, false, false, false, false, nil)
		}, ""},
		{"exchange.declare alternate exchange not writable",
			declareX("mine-ae1-x", amqp.Table{"alternate-exchange": "rd-x"}), refused("exchange", "rd-x", v, u)},
		{"exchange.declare alternate exchange writable",
			declareX("mine-ae2-x", amqp.Table{"alternate-exchange": "wr-x"}), ""},
		{"queue.delete", func(_ *testing.T, ch *amqp.Channel) error {
			_, err := ch.QueueDelete("rd-q", false, false, false)
			return err
		}, refused("queue", "rd-q", v, u)},
		{"queue.delete missing", func(_ *testing.T, ch *amqp.Channel) error {
			_, err := ch.QueueDelete("none-missing-q", false, false, false)
			return err
		}, refused("queue", "none-missing-q", v, u)},
		{"queue.delete allowed", func(_ *testing.T, ch *amqp.Channel) error {
			_, err := ch.QueueDelete("mine-new-q", false, false, false)
			return err
		}, ""},
		{"exchange.delete", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.ExchangeDelete("rd-x", false, false)
		}, refused("exchange", "rd-x", v, u)},
		{"exchange.delete allowed", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.ExchangeDelete("mine-new-x", false, false)
		}, ""},
		{"queue.declare dead-letter to the default exchange",
			declareQ("mine-dl3-q", amqp.Table{"x-dead-letter-exchange": ""}), refused("exchange", "amq.default", v, u)},
		{"exchange.declare amq.*", declareX("amq.mine", nil), refused("exchange", "amq.mine", v, u)},
		{"exchange.delete amq.*", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.ExchangeDelete("amq.direct", false, false)
		}, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '" + v + "' not allowed"},
	})
}

// TestPermissionsOnBind: queue.bind and unbind need write on the queue and
// read on the exchange; exchange.bind write on the destination and read on
// the source.
func TestPermissionsOnBind(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	f := newPermissionFixture(t, b)
	v, u := f.vhost, f.user
	runPermissionCases(t, f, []permissionCase{
		{"queue.bind without write on the queue", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.QueueBind("rd-q", "k", "rd-x", false, nil)
		}, refused("queue", "rd-q", v, u)},
		{"queue.bind without read on the exchange", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.QueueBind("wr-q", "k", "wr-x", false, nil)
		}, refused("exchange", "wr-x", v, u)},
		{"queue.bind allowed", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.QueueBind("wr-q", "k", "rd-x", false, nil)
		}, ""},
		{"queue.bind to the default exchange", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.QueueBind("mine-q", "k", "", false, nil)
		}, "ACCESS_REFUSED - operation not permitted on the default exchange"},
		{"queue.unbind without write on the queue", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.QueueUnbind("rd-q", "k", "rd-x", nil)
		}, refused("queue", "rd-q", v, u)},
		{"queue.unbind without read on the exchange", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.QueueUnbind("wr-q", "k", "wr-x", nil)
		}, refused("exchange", "wr-x", v, u)},
		{"queue.unbind allowed", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.QueueUnbind("wr-q", "k", "rd-x", nil)
		}, ""},
		{"exchange.bind without write on the destination", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.ExchangeBind("rd-x", "k", "mine-x", false, nil)
		}, refused("exchange", "rd-x", v, u)},
		{"exchange.bind without read on the source", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.ExchangeBind("mine-x", "k", "wr-x", false, nil)
		}, refused("exchange", "wr-x", v, u)},
		{"exchange.bind allowed", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.ExchangeBind("wr-x", "k", "rd-x", false, nil)
		}, ""},
		{"exchange.unbind without read on the source", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.ExchangeUnbind("mine-x", "k", "wr-x", false, nil)
		}, refused("exchange", "wr-x", v, u)},
		{"exchange.unbind allowed", func(_ *testing.T, ch *amqp.Channel) error {
			return ch.ExchangeUnbind("wr-x", "k", "rd-x", false, nil)
		}, ""},
	})
}

// TestPermissionsOnMessages: publishing needs write on the exchange
// (amq.default for the default exchange); basic.get, basic.consume and
// queue.purge need read on the queue, checked before the queue is looked
// up.
func TestPermissionsOnMessages(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	f := newPermissionFixture(t, b)
	v, u := f.vhost, f.user
	get := func(queue string) func(*testing.T, *amqp.Channel) error {
		return func(_ *testing.T, ch *amqp.Channel) error {
			_, _, err := ch.Get(queue, false)
			return err
		}
	}
	consume := func(queue string) func(*testing.T, *amqp.Channel) error {
		return func(_ *testing.T, ch *amqp.Channel) error {
			_, err := ch.Consume(queue, "", false, false, false, false, nil)
			return err
		}
	}
	purge := func(queue string) func(*testing.T, *amqp.Channel) error {
		return func(_ *testing.T, ch *amqp.Channel) error {
			_, err := ch.QueuePurge(queue, false)
			return err
		}
	}
	publish := func(exchange, key string) func(*testing.T, *amqp.Channel) error {
		return func(t *testing.T, ch *amqp.Channel) error { return publishOutcome(t, ch, exchange, key) }
	}
	runPermissionCases(t, f, []permissionCase{
		{"publish without write", publish("rd-x", "k"), refused("exchange", "rd-x", v, u)},
		{"publish to the default exchange", publish("", "mine-q"), refused("exchange", "amq.default", v, u)},
		{"publish to a missing exchange", publish("none-missing-x", "k"), refused("exchange", "none-missing-x", v, u)},
		{"publish allowed", publish("wr-x", "k"), ""},
		{"basic.get without read", get("wr-q"), refused("queue", "wr-q", v, u)},
		{"basic.get missing queue", get("none-missing-q"), refused("queue", "none-missing-q", v, u)},
		{"basic.get allowed", get("rd-q"), ""},
		{"basic.consume without read", consume("wr-q"), refused("queue", "wr-q", v, u)},
		{"basic.consume missing queue", consume("none-missing-q"), refused("queue", "none-missing-q", v, u)},
		{"basic.consume allowed", consume("rd-q"), ""},
		{"queue.purge without read", purge("wr-q"), refused("queue", "wr-q", v, u)},
		{"queue.purge missing queue", purge("none-missing-q"), refused("queue", "none-missing-q", v, u)},
		{"queue.purge allowed", purge("rd-q"), ""},
	})
}

// TestPermissionServerNamedQueue: a server-named queue is checked under
// the name the server gives it.
func TestPermissionServerNamedQueue(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	f := newPermissionFixture(t, b)
	_, err := freshChannel(t, f.userConn).QueueDeclare("", false, true, true, false, nil)
	var amqpErr *amqp.Error
	require.ErrorAs(t, err, &amqpErr)
	assert.Equal(t, amqp.AccessRefused, amqpErr.Code)
	assert.Regexp(t, `^ACCESS_REFUSED - access to queue 'amq\.gen-[A-Za-z0-9_-]{22}' in vhost '`+f.vhost+`' refused for user '`+f.user+`'$`, amqpErr.Reason)
}

// TestPermissionEmptyPattern: an empty pattern grants nothing.
func TestPermissionEmptyPattern(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	vhost, _ := dialNewVhost(t, b)
	user := createUser(t, b)
	grant(t, b, vhost, user, "", ".*", ".*")
	ch := freshChannel(t, dialAs(t, b, user, vhost))
	_, err := ch.QueueDeclare("q", false, false, false, false, nil)
	requireAMQPError(t, err, amqp.AccessRefused, refused("queue", "q", vhost, user))
}

// TestPermissionVhostAccess: a user without a permission on a vhost cannot
// open it; the client is told 530 in connection.close. A permission
// granted or revoked through the admin API applies to the next connection.
func TestPermissionVhostAccess(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	vhost, _ := dialNewVhost(t, b)
	user := createUser(t, b)
	want := "NOT_ALLOWED - access to vhost '" + vhost + "' refused for user '" + user + "'"
	_, err := amqp.Dial(userURL(t, b, user, userPassword, vhost))
	requireAMQPError(t, err, amqp.NotAllowed, want)
	_, err = amqp.Dial(userURL(t, b, user, userPassword, ""))
	requireAMQPError(t, err, amqp.NotAllowed, "NOT_ALLOWED - access to vhost '/' refused for user '"+user+"'")

	grant(t, b, vhost, user, "", "", "")
	dialAs(t, b, user, vhost) // any permission, even one granting nothing, opens the vhost

	status, out := api(t, b, http.MethodDelete, "/api/permissions/"+url.PathEscape(vhost)+"/"+url.PathEscape(user), nil)
	require.Equal(t, http.StatusNoContent, status, "%s", out)
	start := time.Now()
	for {
		conn, err := amqp.Dial(userURL(t, b, user, userPassword, vhost))
		if err != nil {
			requireAMQPError(t, err, amqp.NotAllowed, want)
			break
		}
		conn.Close()
		require.Less(t, time.Since(start), within, "vhost still open a second after the permission was deleted")
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPermissionVhostRefusalOnTheWire: the refusal is connection.close 530
// in answer to connection.open, then the socket closes.
func TestPermissionVhostRefusalOnTheWire(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	vhost, _ := dialNewVhost(t, b)
	user := createUser(t, b)
	r := dialRaw(t, b)
	r.write([]byte("AMQP\x00\x00\x09\x01"))
	r.expectMethod(0, 10, 10)
	r.send(0, method(10, 11, u32(0), shortStr("PLAIN"), longStr("\x00"+user+"\x00"+userPassword), shortStr("en_US")))
	r.expectMethod(0, 10, 30)
	r.send(0, method(10, 31, u16(2047), u32(131072), u16(0)))
	r.send(0, method(10, 40, shortStr(vhost), shortStr(""), []byte{0}))
	r.expectConnectionClose(530, "NOT_ALLOWED - access to vhost '"+vhost+"' refused for user '"+user+"'")
}

// TestWrongPassword: a client that announced authentication_failure_close
// is told 403 in connection.close, with RabbitMQ's text, for a wrong
// password and for an unknown user alike; amqp091-go, which does not
// announce it, sees the socket close and reports ErrCredentials.
func TestWrongPassword(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	user := createUser(t, b)
	_, err := amqp.Dial(userURL(t, b, user, "wrong", ""))
	requireAMQPError(t, err, amqp.AccessRefused, "username or password not allowed")

	capabilities := append(shortStr("authentication_failure_close"), 't', 1)
	inner := append(append(shortStr("capabilities"), 'F'), longStr(string(capabilities))...)
	props := longStr(string(inner))
	for name, login := range map[string]string{
		"wrong password": "\x00" + user + "\x00wrong",
		"unknown user":   "\x00" + user + "-missing\x00" + userPassword,
	} {
		t.Run(name, func(t *testing.T) {
			r := dialRaw(t, b)
			r.write([]byte("AMQP\x00\x00\x09\x01"))
			r.expectMethod(0, 10, 10)
			r.send(0, method(10, 11, props, shortStr("PLAIN"), longStr(login), shortStr("en_US")))
			r.expectConnectionClose(403,
				"ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.")
		})
	}
}

// TestAccessRequest: the deprecated access.request, still sent by old
// clients, is answered with access.request-ok and ticket 1, as RabbitMQ
// does, and the channel stays usable.
func TestAccessRequest(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	r := dialRaw(t, b)
	r.handshake(0, 0, 0)
	r.openChannel(1)
	const active, write, read = 4, 8, 16
	r.send(1, method(30, 10, shortStr("/data"), []byte{active | write | read}))
	ok := r.expectMethod(1, 30, 11)
	assert.Equal(t, uint16(1), readUint16(ok.payload[4:]), "ticket")
	r.send(1, method(50, 10, u16(1), shortStr(""), []byte{4 | 8}, u32(0))) // exclusive, auto-delete, ticket 1
	r.expectMethod(1, 50, 11)
	r.close()
}

// apiAs calls the admin API with user's credentials.
func apiAs(t *testing.T, b *broker, user, method, path string) (int, []byte) {
	t.Helper()
	return apiCall(t, b, user, userPassword, method, path, nil)
}

// TestPermissionAdminAPITags: the admin API takes users by their tags, as
// RabbitMQ's management plugin does, and shows a management user only the
// vhosts it has a permission on.
func TestPermissionAdminAPITags(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	vhost, _ := dialNewVhost(t, b)
	plain := createUser(t, b)
	status, out := apiAs(t, b, plain, http.MethodGet, "/api/whoami")
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.JSONEq(t, `{"error":"not_authorised","reason":"Not management user"}`, string(out))

	manager := createUser(t, b)
	status, out = api(t, b, http.MethodPut, "/api/users/"+url.PathEscape(manager),
		map[string]any{"password": userPassword, "tags": "management"})
	require.Equal(t, http.StatusNoContent, status, "%s", out)
	status, out = apiAs(t, b, manager, http.MethodGet, "/api/whoami")
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"name":"`+manager+`","tags":["management"]}`, string(out))
	status, out = apiAs(t, b, manager, http.MethodGet, "/api/users")
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.JSONEq(t, `{"error":"not_authorised","reason":"Not administrator user"}`, string(out))
	status, out = apiAs(t, b, manager, http.MethodDelete, "/api/policies/"+url.PathEscape(vhost)+"/p")
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.JSONEq(t, `{"error":"not_authorised","reason":"User not authorised to access object"}`, string(out))

	vhostNames := func() []string {
		status, out := apiAs(t, b, manager, http.MethodGet, "/api/vhosts")
		require.Equal(t, http.StatusOK, status, "%s", out)
		var vs []struct{ Name string }
		require.NoError(t, json.Unmarshal(out, &vs))
		names := []string{}
		for _, v := range vs {
			names = append(names, v.Name)
		}
		return names
	}
	assert.Empty(t, vhostNames(), "vhosts listed without a permission")
	grant(t, b, vhost, manager, "", "", "")
	assert.Equal(t, []string{vhost}, vhostNames())
}

// TestPermissionChangeReachesLiveConnections: a permission changed through
// the admin API applies to the next channel of an open connection within
// a second. (RabbitMQ caches a channel's successful checks, so only new
// channels are asserted.)
func TestPermissionChangeReachesLiveConnections(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	vhost, _ := dialNewVhost(t, b)
	user := createUser(t, b)
	grant(t, b, vhost, user, ".*", ".*", ".*")
	conn := dialAs(t, b, user, vhost)
	_, err := freshChannel(t, conn).QueueDeclare("q1", false, false, false, false, nil)
	require.NoError(t, err)

	grant(t, b, vhost, user, "^$", ".*", ".*")
	start := time.Now()
	for {
		_, err = freshChannel(t, conn).QueueDeclare("q2", false, false, false, false, nil)
		if err != nil {
			requireAMQPError(t, err, amqp.AccessRefused, refused("queue", "q2", vhost, user))
			break
		}
		require.Less(t, time.Since(start), within, "configure still granted a second after it was revoked")
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUpdateSecret: connection.update-secret is answered with
// update-secret-ok, whatever the secret, as RabbitMQ's internal users
// have it, and the connection goes on.
func TestUpdateSecret(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	r := dialRaw(t, b)
	r.handshake(0, 0, 0)
	r.send(0, method(10, 70, longStr("a-new-secret"), shortStr("rotation")))
	r.expectMethod(0, 10, 71)
	r.openChannel(1)
	r.send(1, method(50, 10, u16(0), shortStr(""), []byte{4 | 8}, u32(0))) // exclusive, auto-delete
	r.expectMethod(1, 50, 11)
	r.close()
}

// TestPermissionVhostCreatorGranted: the admin API grants the user who
// creates a vhost full permissions on it, as RabbitMQ's management plugin
// does, so that it can connect at once.
func TestPermissionVhostCreatorGranted(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	vhost := uniqueName(t, "vhost")
	status, out := api(t, b, http.MethodPut, "/api/vhosts/"+url.PathEscape(vhost), map[string]any{})
	require.Equal(t, http.StatusCreated, status, "%s", out)
	t.Cleanup(func() { api(t, b, http.MethodDelete, "/api/vhosts/"+url.PathEscape(vhost), nil) })

	status, out = api(t, b, http.MethodGet, "/api/vhosts/"+url.PathEscape(vhost)+"/permissions", nil)
	require.Equal(t, http.StatusOK, status, "%s", out)
	assert.JSONEq(t, `[{"vhost":"`+vhost+`","user":"guest","configure":".*","write":".*","read":".*"}]`, string(out))

	// An update of the vhost leaves permissions alone.
	grant(t, b, vhost, "guest", "^$", ".*", ".*")
	status, out = api(t, b, http.MethodPut, "/api/vhosts/"+url.PathEscape(vhost), map[string]any{"description": "d"})
	require.Equal(t, http.StatusNoContent, status, "%s", out)
	status, out = api(t, b, http.MethodGet, "/api/permissions/"+url.PathEscape(vhost)+"/guest", nil)
	require.Equal(t, http.StatusOK, status, "%s", out)
	assert.JSONEq(t, `{"vhost":"`+vhost+`","user":"guest","configure":"^$","write":".*","read":".*"}`, string(out))
}
