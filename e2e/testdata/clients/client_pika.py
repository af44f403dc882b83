"""pika client of the e2e client matrix.

Usage: /usr/bin/python3 client_pika.py AMQP_URL QUEUE

Declares QUEUE, publishes "one" and "two" with publisher confirms and every
basic property, consumes "one" with a manual ack (cancelling first so "two"
stays queued for the Go test) and prints one JSON line of what it observed.
"""
import json
import sys

import pika

# pika 1.2 cannot encode a float header value, so none is sent.
HEADERS = {
    "str": "text",
    "int": 42,
    "neg": -70000,
    "big": 1 << 40,
    "bool": True,
    "table": {"k": "v"},
    "array": [1, "two"],
}


def main():
    url, queue = sys.argv[1], sys.argv[2]
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.queue_declare(queue)
    ch.confirm_delivery()
    props = pika.BasicProperties(
        content_type="text/plain",
        content_encoding="utf-8",
        headers=HEADERS,
        delivery_mode=2,
        priority=5,
        correlation_id="cid-1",
        reply_to="replies",
        expiration="60000",
        message_id="mid-1",
        timestamp=1700000000,
        type="greeting",
        app_id="e2e",
    )
    # With confirms on, basic_publish returns only after the broker's ack
    # and raises NackError or UnroutableError otherwise.
    for body in (b"one", b"two"):
        ch.basic_publish("", queue, body, props, mandatory=True)
    ch.basic_qos(prefetch_count=1)
    method, p, body = next(ch.consume(queue, auto_ack=False, inactivity_timeout=10))
    if method is None:
        sys.exit("no delivery within 10 s")
    ch.cancel()
    ch.basic_ack(method.delivery_tag)
    print(json.dumps({
        "confirmed": True,
        "body": body.decode(),
        "exchange": method.exchange,
        "routing_key": method.routing_key,
        "redelivered": method.redelivered,
        "content_type": p.content_type,
        "content_encoding": p.content_encoding,
        "headers": p.headers,
        "delivery_mode": p.delivery_mode,
        "priority": p.priority,
        "correlation_id": p.correlation_id,
        "reply_to": p.reply_to,
        "expiration": p.expiration,
        "message_id": p.message_id,
        "timestamp": p.timestamp,
        "type": p.type,
        "app_id": p.app_id,
    }))
    conn.close()


main()
