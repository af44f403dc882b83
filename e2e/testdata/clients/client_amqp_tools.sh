#!/bin/sh
# amqp-tools (rabbitmq-c) client of the e2e client matrix.
#
# Usage: sh client_amqp_tools.sh AMQP_URL QUEUE
#
# Declares QUEUE, publishes "one", "two" and "three" with the properties
# amqp-publish can set (it has no publisher confirms and only string
# headers), consumes "one" with amqp-consume, which acks after its command
# exits, takes "two" with amqp-get (basic.get) and prints one JSON line of
# the bodies it got. Neither tool shows properties, so the Go test checks
# them on the message left in the queue.
set -eu
url=$1
queue=$2

amqp-declare-queue --url="$url" --queue="$queue" >/dev/null
for body in one two three; do
	amqp-publish --url="$url" --routing-key="$queue" --body="$body" \
		--persistent --content-type=text/plain --content-encoding=utf-8 \
		--reply-to=replies --header "str: text" --header "second: more"
done
got=$(timeout 10 amqp-consume --url="$url" --queue="$queue" --count=1 \
	--prefetch-count=1 cat)
gotten=$(amqp-get --url="$url" --queue="$queue")
printf '{"body":"%s","get":"%s"}\n' "$got" "$gotten"
