# Bunny client of the e2e client matrix.
#
# Usage: ruby client_bunny.rb AMQP_URL QUEUE
#
# Declares QUEUE, publishes "one" and "two" with publisher confirms and every
# basic property, consumes "one" with a manual ack (cancelling first so "two"
# stays queued for the Go test) and prints one JSON line of what it observed.
require 'bunny'
require 'json'
require 'timeout'

url, name = ARGV
headers = {
  'str' => 'text',
  'int' => 42,
  'neg' => -70000,
  'big' => 1 << 40,
  'bool' => true,
  'float' => 1.5,
  'table' => { 'k' => 'v' },
  'array' => [1, 'two']
}

conn = Bunny.new(url, logger: Logger.new(nil))
conn.start
ch = conn.create_channel
ch.confirm_select
q = ch.queue(name, durable: false)
%w[one two].each do |body|
  ch.default_exchange.publish(body,
                              routing_key: name,
                              mandatory: true,
                              content_type: 'text/plain',
                              content_encoding: 'utf-8',
                              headers: headers,
                              delivery_mode: 2,
                              priority: 5,
                              correlation_id: 'cid-1',
                              reply_to: 'replies',
                              expiration: '60000',
                              message_id: 'mid-1',
                              timestamp: 1_700_000_000,
                              type: 'greeting',
                              app_id: 'e2e')
end
confirmed = ch.wait_for_confirms

ch.prefetch(1)
deliveries = Queue.new
consumer = q.subscribe(manual_ack: true) do |info, props, body|
  deliveries << [info, props, body]
end
info, props, body = Timeout.timeout(10) { deliveries.pop }
consumer.cancel
ch.ack(info.delivery_tag)

puts JSON.generate(
  'confirmed' => confirmed && ch.nacked_set.empty?,
  'body' => body,
  'exchange' => info.exchange,
  'routing_key' => info.routing_key,
  'redelivered' => info.redelivered?,
  'content_type' => props.content_type,
  'content_encoding' => props.content_encoding,
  'headers' => props.headers,
  'delivery_mode' => props.delivery_mode,
  'priority' => props.priority,
  'correlation_id' => props.correlation_id,
  'reply_to' => props.reply_to,
  'expiration' => props.expiration,
  'message_id' => props.message_id,
  'timestamp' => props.timestamp&.to_i,
  'type' => props.type,
  'app_id' => props.app_id
)
ch.close
conn.close
