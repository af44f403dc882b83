// Node amqplib client of the e2e client matrix.
//
// Usage: node client_amqplib.js AMQP_URL QUEUE
//
// Declares QUEUE, publishes "one" and "two" with publisher confirms and every
// basic property, consumes "one" with a manual ack (cancelling first so "two"
// stays queued for the Go test) and prints one JSON line of what it observed.
'use strict';

const amqp = require('amqplib');

const headers = {
  str: 'text',
  int: 42,
  neg: -70000,
  big: 2 ** 40,
  bool: true,
  float: 1.5,
  table: { k: 'v' },
  array: [1, 'two'],
};

function plain(value) {
  if (Buffer.isBuffer(value)) return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

async function main() {
  const [url, queue] = process.argv.slice(2);
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: false });
  for (const body of ['one', 'two']) {
    ch.publish('', queue, Buffer.from(body), {
      mandatory: true,
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      headers,
      deliveryMode: 2,
      priority: 5,
      correlationId: 'cid-1',
      replyTo: 'replies',
      expiration: '60000',
      messageId: 'mid-1',
      timestamp: 1700000000,
      type: 'greeting',
      appId: 'e2e',
    });
  }
  // Rejects if the broker nacks any of them.
  await ch.waitForConfirms();

  await ch.prefetch(1);
  let timer;
  const delivered = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error('no delivery within 10 s')), 10000);
    ch.consume(queue, resolve, { noAck: false }).catch(reject);
  });
  const msg = await delivered;
  clearTimeout(timer);
  await ch.cancel(msg.fields.consumerTag);
  ch.ack(msg);

  const p = msg.properties;
  console.log(JSON.stringify({
    confirmed: true,
    body: msg.content.toString(),
    exchange: msg.fields.exchange,
    routing_key: msg.fields.routingKey,
    redelivered: msg.fields.redelivered,
    content_type: p.contentType,
    content_encoding: p.contentEncoding,
    headers: plain(p.headers),
    delivery_mode: p.deliveryMode,
    priority: p.priority,
    correlation_id: p.correlationId,
    reply_to: p.replyTo,
    expiration: p.expiration,
    message_id: p.messageId,
    timestamp: p.timestamp,
    type: p.type,
    app_id: p.appId,
  }));
  await ch.close();
  await conn.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
