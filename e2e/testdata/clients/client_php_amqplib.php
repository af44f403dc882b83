<?php
// php-amqplib client of the e2e client matrix.
//
// Usage: php client_php_amqplib.php AMQP_URL QUEUE
//
// Declares QUEUE, publishes "one" and "two" with publisher confirms and every
// basic property, consumes "one" with a manual ack (cancelling first so "two"
// stays queued for the Go test) and prints one JSON line of what it observed.

require_once '/usr/share/php/PhpAmqpLib/autoload.php';

use PhpAmqpLib\Connection\AMQPStreamConnection;
use PhpAmqpLib\Message\AMQPMessage;
use PhpAmqpLib\Wire\AMQPTable;

[$_, $url, $queue] = $argv;
$u = parse_url($url);
$vhost = isset($u['path']) && $u['path'] !== '/' ? rawurldecode(substr($u['path'], 1)) : '/';
$conn = new AMQPStreamConnection($u['host'], $u['port'] ?? 5672,
    rawurldecode($u['user']), rawurldecode($u['pass']), $vhost);
$ch = $conn->channel();
$ch->queue_declare($queue, false, false, false, false);

$acked = 0;
$nacked = 0;
$ch->set_ack_handler(function () use (&$acked) { $acked++; });
$ch->set_nack_handler(function () use (&$nacked) { $nacked++; });
$ch->confirm_select();

// php-amqplib cannot write a double: it sends a PHP float as a string, so
// no float header is sent.
$headers = new AMQPTable([
    'str' => 'text',
    'int' => 42,
    'neg' => -70000,
    'big' => 1 << 40,
    'bool' => true,
    'table' => ['k' => 'v'],
    'array' => [1, 'two'],
]);
foreach (['one', 'two'] as $body) {
    $ch->basic_publish(new AMQPMessage($body, [
        'content_type' => 'text/plain',
        'content_encoding' => 'utf-8',
        'application_headers' => $headers,
        'delivery_mode' => AMQPMessage::DELIVERY_MODE_PERSISTENT,
        'priority' => 5,
        'correlation_id' => 'cid-1',
        'reply_to' => 'replies',
        'expiration' => '60000',
        'message_id' => 'mid-1',
        'timestamp' => 1700000000,
        'type' => 'greeting',
        'app_id' => 'e2e',
    ]), '', $queue, true);
}
$ch->wait_for_pending_acks_returns(10);

$ch->basic_qos(0, 1, false);
$got = null;
$tag = $ch->basic_consume($queue, '', false, false, false, false,
    function (AMQPMessage $m) use (&$got) { $got = $m; });
while ($got === null) {
    $ch->wait(null, false, 10);
}
$ch->basic_cancel($tag);
$got->ack();

$p = $got->get_properties();
echo json_encode([
    'confirmed' => $acked === 2 && $nacked === 0,
    'body' => $got->getBody(),
    'exchange' => $got->getExchange(),
    'routing_key' => $got->getRoutingKey(),
    'redelivered' => $got->isRedelivered(),
    'content_type' => $p['content_type'] ?? null,
    'content_encoding' => $p['content_encoding'] ?? null,
    'headers' => isset($p['application_headers']) ? $p['application_headers']->getNativeData() : null,
    'delivery_mode' => $p['delivery_mode'] ?? null,
    'priority' => $p['priority'] ?? null,
    'correlation_id' => $p['correlation_id'] ?? null,
    'reply_to' => $p['reply_to'] ?? null,
    'expiration' => $p['expiration'] ?? null,
    'message_id' => $p['message_id'] ?? null,
    'timestamp' => $p['timestamp'] ?? null,
    'type' => $p['type'] ?? null,
    'app_id' => $p['app_id'] ?? null,
], JSON_PRESERVE_ZERO_FRACTION), "\n";

$ch->close();
$conn->close();
