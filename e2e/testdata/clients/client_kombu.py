"""kombu client of the e2e client matrix (kombu over py-amqp).

Usage: /usr/bin/python3 client_kombu.py AMQP_URL QUEUE [big]

Declares QUEUE, publishes "one" and "two" with publisher confirms and every
basic property, consumes "one" with a manual ack (cancelling first so "two"
stays queued for the Go test) and prints one JSON line of what it observed.
"""
import calendar
import json
import sys

from kombu import Connection, Consumer, Producer, Queue

# py-amqp writes an integer beyond 32 bits with the type 'L', which RabbitMQ
# passes through but amqp091-go cannot read, so none is sent unless the
# third argument is "big" (a test that reads the message back with kombu
# only).
HEADERS = {
    "str": "text",
    "int": 42,
    "neg": -70000,
    "bool": True,
    "float": 1.5,
    "table": {"k": "v"},
    "array": [1, "two"],
}


def main():
    url, name = sys.argv[1], sys.argv[2]
    headers = dict(HEADERS)
    if sys.argv[3:] == ["big"]:
        headers["big"] = 1 << 40
    # confirm_publish makes every publish wait for the broker's basic.ack
    # and raise on a basic.nack.
    with Connection(url, transport_options={"confirm_publish": True}) as conn:
        ch = conn.channel()
        queue = Queue(name, channel=ch, durable=False)
        queue.declare()
        producer = Producer(ch)
        for body in (b"one", b"two"):
            producer.publish(
                body,
                exchange="",
                routing_key=name,
                content_type="text/plain",
                content_encoding="utf-8",
                headers=headers,
                delivery_mode=2,
                priority=5,
                correlation_id="cid-1",
                reply_to="replies",
                expiration=60,  # seconds: kombu sends "60000"
                message_id="mid-1",
                timestamp=1700000000,
                type="greeting",
                app_id="e2e",
                retry=False,
            )
        got = []
        ch.basic_qos(0, 1, False)
        consumer = Consumer(ch, queues=[queue], no_ack=False, on_message=got.append)
        consumer.consume()
        while not got:
            conn.drain_events(timeout=10)
        consumer.cancel()
        msg = got[0]
        msg.ack()
        p = msg.properties
        body = msg.body
        if isinstance(body, bytes):  # py-amqp decodes it by content_encoding
            body = body.decode()
        ts = p.get("timestamp")
        if not isinstance(ts, int):
            ts = calendar.timegm(ts.utctimetuple())
        print(json.dumps({
            "confirmed": True,
            "body": body,
            "exchange": msg.delivery_info["exchange"],
            "routing_key": msg.delivery_info["routing_key"],
            "redelivered": msg.delivery_info["redelivered"],
            "content_type": msg.content_type,
            "content_encoding": msg.content_encoding,
            "headers": msg.headers,
            "delivery_mode": p.get("delivery_mode"),
            "priority": p.get("priority"),
            "correlation_id": p.get("correlation_id"),
            "reply_to": p.get("reply_to"),
            "expiration": p.get("expiration"),
            "message_id": p.get("message_id"),
            "timestamp": ts,
            "type": p.get("type"),
            "app_id": p.get("app_id"),
        }))


main()
