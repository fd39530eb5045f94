#!/usr/bin/env python3
"""Writes the seed corpus of engine_fuzz (broker/session/engine_fuzz.cc) to tests/fuzz/engine_corpus.

Each seed is a short conversation in the fuzz target's input format (see the comment at the top of
engine_fuzz.cc): a header byte, then operations on three connections. The seeds reach the engine's
main paths (subscriptions, the three QoS flows, retained messages, wills, persistent sessions, 5.0
properties, keep-alive) so that mutations start deep inside them.

    /usr/bin/python3 tests/fuzz/make_engine_corpus.py
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import mqtt_raw as m  # noqa: E402
from corpus_files import write_corpus  # noqa: E402

AUTO, V5, PERSISTENT = 1, 2, 4


class Seed:
    def __init__(self, header):
        self.out = bytearray([header])

    def feed(self, conn, data):
        for i in range(0, len(data), 256):
            chunk = data[i:i + 256]
            self.out += bytes([conn << 4 | 0, len(chunk) - 1]) + chunk
        return self

    def close(self, conn):
        self.out += bytes([conn << 4 | 4])
        return self

    def elapse(self, seconds):
        self.out += bytes([5, seconds])
        return self

    def drained(self, conn=None):
        self.out += bytes([7] if conn is None else [conn << 4 | 6])
        return self


def seeds():
    v3, v5 = m.V311, m.V5
    yield 'qos_flows_v311', (
        Seed(AUTO)
        .feed(0, m.subscribe(1, [('a/#', 2), ('b/+', 1)]))
        .feed(1, m.publish('a/b', b'zero') + m.publish('a/c', b'one', qos=1, pid=1))
        .feed(1, m.publish('b/x', b'two', qos=2, pid=2) + m.ack(m.PUBREL, 2))
        .feed(0, m.ack(m.PUBACK, 1) + m.ack(m.PUBREC, 2))
        .feed(0, m.ack(m.PUBCOMP, 2) + m.PING)
        .drained())
    yield 'qos_flows_v5', (
        Seed(AUTO | V5)
        .feed(0, m.subscribe(1, [('a/#', 2 | 4), ('$share/g/a/b', 1)], v5,
                             properties=[(m.SUBSCRIPTION_ID, 7)]))
        .feed(1, m.publish('a/b', b'x', qos=1, pid=1, version=v5,
                           properties=[(m.TOPIC_ALIAS, 1), (m.MESSAGE_EXPIRY, 5),
                                       (m.USER_PROPERTY, ('k', 'v')),
                                       (m.CONTENT_TYPE, 'text/plain')]))
        .feed(1, m.publish('', b'alias', qos=2, pid=2, version=v5,
                           properties=[(m.TOPIC_ALIAS, 1)]) + m.ack(m.PUBREL, 2))
        .feed(0, m.ack(m.PUBACK, 1) + m.ack(m.PUBREC, 2) + m.ack(m.PUBCOMP, 2))
        .elapse(6)
        .feed(2, m.unsubscribe(3, ['a/#'], v5) + m.disconnect(v5))
        .drained())
    yield 'retained', (
        Seed(AUTO)
        .feed(1, m.publish('r/1', b'kept', qos=1, pid=1, retain=True))
        .feed(1, m.publish('r/2', b'zero', retain=True) + m.publish('r/1', b'', retain=True))
        .feed(0, m.subscribe(1, [('r/#', 1)]))
        .feed(0, m.ack(m.PUBACK, 1)))
    yield 'persistent_offline_queue', (
        Seed(AUTO | PERSISTENT)
        .feed(0, m.subscribe(1, [('q/#', 1)]))
        .close(0)
        .feed(1, b''.join(m.publish('q/%d' % i, b'm', qos=1, pid=i + 1) for i in range(20)))
        .close(0)
        .feed(0, b''.join(m.ack(m.PUBACK, i + 1) for i in range(8)))
        .drained(0))
    yield 'persistent_v5_expiry', (
        Seed(AUTO | V5 | PERSISTENT)
        .feed(0, m.subscribe(1, [('e/#', 2)], v5))
        .close(0)
        .feed(1, m.publish('e/1', b'x', qos=2, pid=1, version=v5) + m.ack(m.PUBREL, 1))
        .elapse(120)
        .close(0))
    yield 'will_and_keepalive', (
        Seed(0)
        .feed(0, m.connect('w', keepalive=5, will=dict(topic='w/gone', payload=b'bye', qos=1)))
        .feed(1, m.connect('s') + m.subscribe(1, [('w/#', 1)]))
        .elapse(8)
        .feed(1, m.ack(m.PUBACK, 1)))
    yield 'raw_v5_connects', (
        Seed(0)
        .feed(0, m.connect('', version=m.V5, properties=[(m.SESSION_EXPIRY, 30),
                                                          (m.RECEIVE_MAXIMUM, 2),
                                                          (m.TOPIC_ALIAS_MAX, 2)]))
        .feed(1, m.connect('dup', version=m.V5))
        .feed(2, m.connect('dup', version=m.V5, will=dict(topic='t', payload=b'w')))
        .feed(0, m.subscribe(1, [('t', 1)], m.V5))
        .close(2))
    yield 'slow_subscriber', (
        Seed(AUTO)
        .feed(0, m.subscribe(1, [('s', 0), ('s1', 1)]))
        .feed(1, b''.join(m.publish('s', b'p' * 200) for _ in range(40)))
        .feed(1, b''.join(m.publish('s1', b'p' * 200, qos=1, pid=i + 1) for i in range(30)))
        .drained(0))


if __name__ == '__main__':
    write_corpus('engine_corpus', seeds())
