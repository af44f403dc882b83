"""aio-pika client of the e2e client matrix.

Usage: /usr/bin/python3 client_aio_pika.py AMQP_URL QUEUE

Declares QUEUE, publishes "one" and "two" with publisher confirms and every
basic property, consumes "one" with a manual ack (cancelling first so "two"
stays queued for the Go test) and prints one JSON line of what it observed.
"""
import asyncio
import calendar
import datetime
import json
from collections.abc import Mapping
import sys

import aio_pika

# aio-pika 8 sends a float header as JSON text in a byte array, so none is
# sent; bytes go out as a byte array ('x'), which the other clients lack.
HEADERS = {
    "str": "text",
    "int": 42,
    "neg": -70000,
    "big": 1 << 40,
    "bool": True,
    "bytes": b"raw",
    "table": {"k": "v"},
    "array": [1, "two"],
}


def plain(value):
    """Header values as JSON: aio-pika hands back a read-only mapping."""
    if isinstance(value, (bytes, bytearray)):
        return value.decode()
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


async def main():
    url, name = sys.argv[1], sys.argv[2]
    conn = await aio_pika.connect(url)
    async with conn:
        # With publisher confirms, publish returns after the broker's ack
        # and raises on a nack.
        ch = await conn.channel(publisher_confirms=True)
        queue = await ch.declare_queue(name, durable=False)
        for body in (b"one", b"two"):
            await ch.default_exchange.publish(
                aio_pika.Message(
                    body,
                    content_type="text/plain",
                    content_encoding="utf-8",
                    headers=HEADERS,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    priority=5,
                    correlation_id="cid-1",
                    reply_to="replies",
                    expiration=60,  # seconds: aio-pika sends "60000"
                    message_id="mid-1",
                    timestamp=datetime.datetime.fromtimestamp(
                        1700000000, datetime.timezone.utc),
                    type="greeting",
                    app_id="e2e",
                ),
                routing_key=name,
                mandatory=True,
            )
        await ch.set_qos(prefetch_count=1)
        async with queue.iterator() as it:
            msg = await asyncio.wait_for(it.__anext__(), 10)
        # Leaving the iterator cancelled the consumer; now ack.
        await msg.ack()
        ts = msg.timestamp
        if isinstance(ts, datetime.datetime):
            ts = calendar.timegm(ts.utctimetuple())
        print(json.dumps({
            "confirmed": True,
            "body": msg.body.decode(),
            "exchange": msg.exchange,
            "routing_key": msg.routing_key,
            "redelivered": msg.redelivered,
            "content_type": msg.content_type,
            "content_encoding": msg.content_encoding,
            "headers": plain(msg.headers),
            "delivery_mode": int(msg.delivery_mode),
            "priority": msg.priority,
            "correlation_id": msg.correlation_id,
            "reply_to": msg.reply_to,
            "expiration": msg.properties.expiration,
            "message_id": msg.message_id,
            "timestamp": ts,
            "type": msg.type,
            "app_id": msg.app_id,
        }))


asyncio.run(main())
