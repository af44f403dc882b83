"""Drive a broker with pika: publish with confirms, consume with acks, and
round-trip every basic property. Prints one JSON object per line for the Go
test (e2e/pika_test.go) to check; exits non-zero on any failure.

usage: pika_roundtrip.py AMQP_URL QUEUE COUNT
"""
import base64
import datetime
import decimal
import json
import sys

import pika


def encode(value):
    """Render header values as JSON with their Python type kept visible."""
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime.datetime):
        return {"datetime": value.replace(tzinfo=None).isoformat()}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [encode(v) for v in value]
    return value


def properties(i):
    return pika.BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        headers={
            "str": "text ✓",
            "bytes": b"\x00\x01\xff",
            "int": 42,
            "big": 1 << 40,
            "neg": -7,
            "bool": True,
            "decimal": decimal.Decimal("3.14"),
            "when": datetime.datetime(2020, 1, 2, 3, 4, 5),
            "none": None,
            "list": [1, "two", [3]],
            "table": {"inner": "v", "n": 1},
        },
        delivery_mode=2,
        priority=5,
        correlation_id="corr-%d" % i,
        reply_to="reply-queue",
        expiration="600000",
        message_id=str(i),
        timestamp=1700000000 + i,
        type="pika.test",
        user_id="guest",
        app_id="pika-e2e",
        cluster_id="cluster-x",
    )


def main():
    url, queue, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.queue_declare(queue, durable=False, auto_delete=False)
    ch.confirm_delivery()

    for i in range(count):
        # With confirms on, basic_publish raises on a nack or a return.
        ch.basic_publish("", queue, ("body %d" % i).encode(), properties(i), mandatory=True)
    print(json.dumps({"published": count}))

    try:
        ch.basic_publish("", queue + "-missing", b"x", mandatory=True)
        print(json.dumps({"unroutable": "not returned"}))
    except pika.exceptions.UnroutableError as e:
        ret = e.messages[0].method
        print(json.dumps({"unroutable": ret.reply_code, "text": ret.reply_text}))

    declared = ch.queue_declare(queue, passive=True)
    print(json.dumps({"message_count": declared.method.message_count}))

    received = []

    def on_message(chan, method, props, body):
        received.append(
            {
                "body": body.decode(),
                "redelivered": method.redelivered,
                "content_type": props.content_type,
                "content_encoding": props.content_encoding,
                "headers": encode(props.headers),
                "delivery_mode": props.delivery_mode,
                "priority": props.priority,
                "correlation_id": props.correlation_id,
                "reply_to": props.reply_to,
                "expiration": props.expiration,
                "message_id": props.message_id,
                "timestamp": props.timestamp,
                "type": props.type,
                "user_id": props.user_id,
                "app_id": props.app_id,
                "cluster_id": props.cluster_id,
            }
        )
        # Reject the first delivery back to the queue once, ack the rest.
        if len(received) == 1:
            chan.basic_reject(method.delivery_tag, requeue=True)
        else:
            chan.basic_ack(method.delivery_tag)

    ch.basic_qos(prefetch_count=5)
    tag = ch.basic_consume(queue, on_message)
    deadline = 100
    while len(received) < count + 1 and deadline > 0:
        conn.process_data_events(time_limit=0.1)
        deadline -= 1
    ch.basic_cancel(tag)
    for r in received:
        print(json.dumps(r, sort_keys=True, ensure_ascii=False))

    declared = ch.queue_declare(queue, passive=True)
    print(json.dumps({"left": declared.method.message_count}))
    ch.queue_delete(queue)
    conn.close()


if __name__ == "__main__":
    main()
