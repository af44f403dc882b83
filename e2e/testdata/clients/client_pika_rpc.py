"""pika RPC client over direct reply-to (amq.rabbitmq.reply-to).

Usage: /usr/bin/python3 client_pika_rpc.py N AMQP_URL REQUEST_QUEUE

Consumes from the pseudo-queue amq.rabbitmq.reply-to in no-ack mode without
declaring a queue, sends requests "0" .. "N-1" to REQUEST_QUEUE with that
reply-to and correlation ids "c0" .. and prints one JSON line:
{"replies": {correlation_id: body}}.
"""
import json
import sys
import time

import pika

REPLY_TO = "amq.rabbitmq.reply-to"


def main():
    n, url, queue = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    replies = {}

    def on_reply(_ch, _method, props, body):
        replies[props.correlation_id] = body.decode()

    ch.basic_consume(REPLY_TO, on_reply, auto_ack=True)
    for i in range(n):
        ch.basic_publish("", queue, str(i).encode(), pika.BasicProperties(
            reply_to=REPLY_TO, correlation_id="c%d" % i))
    deadline = time.monotonic() + 10
    while len(replies) < n and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.1)
    print(json.dumps({"replies": replies}))
    conn.close()


main()
