"""Hostile clients on the wire: a mutation fuzzer against the running broker.

The in-process fuzz targets (mqtt_decoder_fuzz, engine_fuzz) cover the codec and the session
engine; this one covers what they cannot: the shard's receive loop, connection hand-off between
shards, output queues, timers and take-overs, with real sockets and two shards. Up to 24
connections at once each run a conversation drawn from the whole protocol (CONNECT 3.1.1 and 5.0
with wills and properties, PUBLISH at every QoS with topic aliases and properties, the QoS acks,
SUBSCRIBE with shared and invalid filters, UNSUBSCRIBE, PINGREQ, DISCONNECT, AUTH, raw bytes),
often mutated (bit flips, inserted, deleted, repeated or truncated bytes), written in random
pieces, interleaved with the other connections, acknowledged or not, and ended by DISCONNECT, an
abrupt close, a reset or not at all. Client ids come from a small pool, so sessions are taken
over and resumed across shards.

Checked throughout: the broker writes only well-formed server packets (a client-only packet type
or a bad fixed header is a failure), and every couple of seconds a fresh client still completes a
QoS 1 round trip. At the end the broker must stop cleanly (exit 0); under the sanitizers any
report in its log fails the test (BrokerTest).

TELEMQ_WIRE_FUZZ_SECONDS (default 12) bounds the run; TELEMQ_WIRE_FUZZ_SEED repeats one. A long
local run under the sanitizers:
  cd tests/integration && TELEMQ_BINARY=../../build/asan-ubsan/broker/telemq \\
    TELEMQ_WIRE_FUZZ_SECONDS=600 /usr/bin/python3 -m unittest -v test_wire_fuzz
"""
import os
import random
import selectors
import socket
import struct
import sys
import time

import mqtt_raw as m
from broker import BrokerTest, telemq_only

SLOTS = 24
HEALTH_EVERY_S = 2.0
CLIENT_IDS = ['f%d' % i for i in range(8)] + ['']
# Valid names first; a well-behaved conversation draws from those only.
TOPICS = ['t/a', 't/b', 't/a/b', 'sensors/1/temp', '$SYS/x', 'a//b', 'x' * 300, '\u00e9t\u00e9',
          '', 't/+', '#', 't/\x00']
VALID_TOPICS = 8
FILTERS = ['t/#', 't/+', '#', '+/+', 't/a', '$SYS/#', '$share/g/t/#', '$share/g/#', '/', '+',
           'sensors/+/temp', 'x' * 300, '$share//t', '$share/g', 'a/#/b', 't/+x', '']
VALID_FILTERS = 12
# Server-to-client packet types (MQTT 3.1.1 2.2.1, 5.0 2.1.2) and their fixed-header flags.
SERVER_FLAGS = {m.CONNACK: 0, m.PUBACK: 0, m.PUBREC: 0, m.PUBREL: 2, m.PUBCOMP: 0, m.SUBACK: 0,
                m.UNSUBACK: 0, m.PINGRESP: 0, m.DISCONNECT: 0, m.AUTH: 0}


class Conversation:
    """One hostile client: the bytes it will write, in pieces, and how it behaves."""

    def __init__(self, rng, port):
        self.rng = rng
        self.version = rng.choice([m.V311, m.V5])
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        # Most conversations keep to valid packets for a while, so that sessions, subscriptions
        # and QoS flows build up before anything goes wrong; the rest are hostile throughout.
        self.valid = rng.random() < 0.6
        data = self._script()
        if rng.random() < 0.4:
            keep = int(len(data) * 0.8) if self.valid else 0
            data = data[:keep] + mutate(rng, data[keep:])
        self.pieces = split(rng, data)
        self.acks = rng.random() < 0.8  # acknowledge what the broker sends
        self.reads = rng.random() < 0.9  # a client that never reads fills the broker's queue
        self.rx = bytearray()

    def _script(self):
        rng, v = self.rng, self.version
        out = [connect(rng, v)] if self.valid or rng.random() < 0.95 else []
        for _ in range(rng.randrange(1, 30)):
            out.append(packet(rng, v, self.valid))
        if rng.random() < 0.4:
            out.append(m.disconnect(v, rng.choice([0, 0, 4, 0x80, 0x8E]),
                                    [(m.SESSION_EXPIRY, rng.choice([0, 10]))]
                                    if v == m.V5 and rng.random() < 0.3 else ()))
        return b''.join(out)

    def feed(self, data, seen):
        """Checks the broker's bytes and answers its PUBLISHes and PUBRELs; counts the packet
        types it sent in seen."""
        self.rx += data
        replies = []
        while True:
            parsed = parse_fixed_header(self.rx)
            if parsed is None:
                break
            ptype, flags, start, length = parsed
            body = bytes(self.rx[start:start + length])
            del self.rx[:start + length]
            seen[ptype] = seen.get(ptype, 0) + 1
            if ptype == m.PUBLISH:
                qos = flags >> 1 & 3
                assert qos != 3, 'the broker sent a PUBLISH with QoS 3'
                if qos and self.acks and len(body) >= 2:
                    tlen = struct.unpack('>H', body[:2])[0]
                    pid = body[2 + tlen:4 + tlen]
                    if len(pid) == 2:
                        ack_type = m.PUBACK if qos == 1 else m.PUBREC
                        replies.append(m.packet(ack_type, 0, pid))
            elif ptype in SERVER_FLAGS:
                assert flags == SERVER_FLAGS[ptype], 'bad flags %x on packet type %d' % (flags,
                                                                                        ptype)
                if ptype == m.PUBREL and self.acks and len(body) >= 2:
                    replies.append(m.packet(m.PUBCOMP, 0, body[:2]))
            else:
                raise AssertionError('the broker sent client packet type %d' % ptype)
        return b''.join(replies)


def parse_fixed_header(buf):
    """(type, flags, body start, body length) of the first whole packet in buf, or None."""
    if len(buf) < 2:
        return None
    length, mult = 0, 1
    for i in range(1, 5):
        if i >= len(buf):
            return None
        length += (buf[i] & 127) * mult
        mult *= 128
        if not buf[i] & 128:
            if len(buf) < i + 1 + length:
                return None
            return buf[0] >> 4, buf[0] & 15, i + 1, length
    raise AssertionError('the broker sent a remaining length of more than 4 bytes')


def v5_props(rng, choices):
    return [rng.choice(choices)() for _ in range(rng.randrange(0, 3))]


def connect(rng, v):
    will = None
    if rng.random() < 0.3:
        will = dict(topic=rng.choice(TOPICS), payload=rng.randbytes(rng.randrange(0, 40)),
                    qos=rng.choice([0, 1, 2, 3]), retain=rng.random() < 0.3,
                    properties=v5_props(rng, [lambda: (0x18, rng.choice([0, 1, 5])),
                                              lambda: (m.PAYLOAD_FORMAT, rng.choice([0, 1, 2])),
                                              lambda: (m.MESSAGE_EXPIRY, rng.choice([0, 1]))])
                    if v == m.V5 else ())
    properties = ()
    if v == m.V5:
        properties = v5_props(rng, [
            lambda: (m.SESSION_EXPIRY, rng.choice([0, 5, 0xFFFFFFFF])),
            lambda: (m.RECEIVE_MAXIMUM, rng.choice([0, 1, 2, 100])),
            lambda: (m.TOPIC_ALIAS_MAX, rng.choice([0, 1, 3])),
            lambda: (m.MAXIMUM_PACKET_SIZE, rng.choice([0, 20, 64, 100000])),
            lambda: (0x17, rng.choice([0, 1, 2])),  # Request Problem Information
            lambda: (m.USER_PROPERTY, ('k', 'v')),
            lambda: (m.AUTH_METHOD, 'x')])
    return m.connect(rng.choice(CLIENT_IDS), clean=rng.random() < 0.5,
                     keepalive=rng.choice([0, 1, 2, 60]), version=v, will=will,
                     properties=properties)


def packet(rng, v, valid):
    """A packet of the protocol, of any kind; with valid, one a compliant client may send."""
    kind = rng.random() * (0.95 if valid else 1)
    pid = rng.choice([1, 2, 3, 65535] if valid else [0, 1, 2, 3, 65535])
    topics = TOPICS[:VALID_TOPICS] if valid else TOPICS
    filters = FILTERS[:VALID_FILTERS] if valid else FILTERS
    if kind < 0.45:
        qos = rng.choice([0, 0, 1, 1, 2] if valid else [0, 0, 1, 1, 2, 3])
        properties = ()
        if v == m.V5 and not valid:
            properties = v5_props(rng, [
                lambda: (m.TOPIC_ALIAS, rng.choice([0, 1, 2, 65535])),
                lambda: (m.MESSAGE_EXPIRY, rng.choice([0, 1, 60])),
                lambda: (m.PAYLOAD_FORMAT, rng.choice([0, 1, 5])),
                lambda: (m.RESPONSE_TOPIC, rng.choice(['r', 'r/#'])),
                lambda: (m.CORRELATION_DATA, b'c'),
                lambda: (m.SUBSCRIPTION_ID, 1),
                lambda: (m.CONTENT_TYPE, 'text'),
                lambda: (m.USER_PROPERTY, ('k', 'v'))])
        elif v == m.V5:
            properties = v5_props(rng, [lambda: (m.TOPIC_ALIAS, rng.choice([1, 2])),
                                        lambda: (m.MESSAGE_EXPIRY, rng.choice([1, 60])),
                                        lambda: (m.USER_PROPERTY, ('k', 'v'))])
        size = rng.choice([0, 1, 16, 100, 2000] if valid else [0, 1, 16, 100, 2000, 70000])
        return m.publish(rng.choice(topics), rng.randbytes(size), qos, pid,
                         rng.random() < 0.2, rng.random() < 0.1, v, properties)
    if kind < 0.6:
        return m.ack(rng.choice([m.PUBACK, m.PUBREC, m.PUBREL, m.PUBCOMP]), pid)
    if kind < 0.8:
        options = [0, 1, 2, 4, 8, 0x10, 0x20] if v == m.V5 else [0, 1, 2]
        if not valid:
            options += [3, 0xC0]
        filters = [(rng.choice(filters), rng.choice(options))
                   for _ in range(rng.randrange(1 if valid else 0, 4))]
        properties = [(m.SUBSCRIPTION_ID, rng.choice([1, 268435455] if valid else [0, 1]))] \
            if v == m.V5 and rng.random() < 0.3 else ()
        return m.subscribe(pid, filters, v, properties, flags=2 if valid else rng.choice([2, 0]))
    if kind < 0.88:
        return m.unsubscribe(pid, [rng.choice(filters)
                                   for _ in range(rng.randrange(1 if valid else 0, 3))], v)
    if kind < 0.95:
        return m.PING
    if kind < 0.97:
        return m.packet(m.AUTH, 0, b'\x18\x00')
    return rng.randbytes(rng.randrange(1, 12))


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        if not data:
            break
        i = rng.randrange(len(data))
        op = rng.randrange(6)
        if op == 0:
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[i] = rng.choice([0, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif op == 2:
            data[i:i] = rng.randbytes(rng.randrange(1, 8))
        elif op == 3:
            del data[i:i + rng.randrange(1, 8)]
        elif op == 4:
            n = rng.randrange(1, 16)
            data[i:i] = data[i:i + n]
        else:
            del data[i:]
    return bytes(data)


def split(rng, data):
    pieces = []
    while data:
        n = rng.choice([1, 2, 7, 64, 1500, len(data)])
        pieces.append(data[:n])
        data = data[n:]
    return pieces


@telemq_only('a fuzzer of the broker under test, not a conformance rule')
class WireFuzzTest(BrokerTest):
    # Debug logging of every fuzzed packet would dwarf the run; small limits are reached often.
    broker_flags = {'log-level': 'warning', 'max-packet-size': 65536, 'max-inflight': 4,
                    'max-queued-messages': 64, 'max-output-bytes': 262144}

    def test_hostile_clients_leave_the_broker_serving(self):
        seconds = float(os.environ.get('TELEMQ_WIRE_FUZZ_SECONDS', '12'))
        seed = int(os.environ.get('TELEMQ_WIRE_FUZZ_SEED', random.randrange(1 << 32)))
        sys.stderr.write('wire fuzz: seed %d, %.0f s (TELEMQ_WIRE_FUZZ_SEED to repeat)\n'
                         % (seed, seconds))
        rng = random.Random(seed)
        selector = selectors.DefaultSelector()
        slots = [None] * SLOTS
        self.seen = {}
        conversations = checks = 0
        deadline = time.monotonic() + seconds
        next_check = time.monotonic() + HEALTH_EVERY_S
        try:
            while time.monotonic() < deadline:
                k = rng.randrange(SLOTS)
                if slots[k] is None:
                    slots[k] = Conversation(rng, self.port)
                    selector.register(slots[k].sock, selectors.EVENT_READ, k)
                    conversations += 1
                elif not self._step(slots[k]):
                    self._end(selector, slots, k)
                for key, _ in selector.select(timeout=0):
                    self._read(selector, slots, key.data)
                if time.monotonic() >= next_check:
                    self._health_check(checks)
                    checks += 1
                    next_check = time.monotonic() + HEALTH_EVERY_S
        finally:
            for k in range(SLOTS):
                if slots[k] is not None:
                    self._end(selector, slots, k)
            selector.close()
        self._health_check(checks)
        self.assertTrue(self.broker.alive())
        names = {m.CONNACK: 'CONNACK', m.PUBLISH: 'PUBLISH', m.PUBACK: 'PUBACK',
                 m.PUBREC: 'PUBREC', m.PUBREL: 'PUBREL', m.PUBCOMP: 'PUBCOMP', m.SUBACK: 'SUBACK',
                 m.UNSUBACK: 'UNSUBACK', m.PINGRESP: 'PINGRESP', m.DISCONNECT: 'DISCONNECT'}
        sys.stderr.write('wire fuzz: %d conversations, %d health checks; the broker sent %s\n'
                         % (conversations, checks + 1, ', '.join(
                             '%d %s' % (n, names.get(t, t)) for t, n in sorted(self.seen.items()))))

    def _step(self, conv):
        """Writes the conversation's next piece; False once it is over."""
        if not conv.pieces:
            return False
        try:
            sent = conv.sock.send(conv.pieces[0])
        except BlockingIOError:
            return True  # the broker is not reading this client now; try again later
        except OSError:
            return False  # closed by the broker
        if sent < len(conv.pieces[0]):
            conv.pieces[0] = conv.pieces[0][sent:]
        else:
            conv.pieces.pop(0)
        return True

    def _read(self, selector, slots, k):
        conv = slots[k]
        if conv is None or not conv.reads:
            return
        try:
            data = conv.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if not data:
            self._end(selector, slots, k)
            return
        reply = conv.feed(data, self.seen)
        if reply:
            try:
                conv.sock.send(reply)
            except OSError:
                pass  # a full or closed socket: the ack is simply not sent

    def _end(self, selector, slots, k):
        conv = slots[k]
        slots[k] = None
        selector.unregister(conv.sock)
        if conv.rng.random() < 0.3:
            # An abrupt reset instead of a FIN.
            conv.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        conv.sock.close()

    def _health_check(self, n):
        """A fresh client completes a QoS 1 round trip within 10 s."""
        topic = 'health/check%d' % n
        with m.Client(self.port, timeout=10) as c:
            self.assertEqual(m.connack_codes(c.connect('health%d' % n, keepalive=0)), (0, 0))
            self.assertEqual(c.subscribe([(topic, 1)]), [1])
            c.send(m.publish(topic, b'ok', qos=1, pid=7))
            got = set()
            while len(got) < 2:
                pkt = c.recv(10)
                got.add(pkt.type)
                if pkt.type == m.PUBLISH:
                    msg = m.Publish(pkt, m.V311)
                    self.assertEqual((msg.topic, msg.payload), (topic, b'ok'))
                    c.send(m.ack(m.PUBACK, msg.pid))
            self.assertEqual(got, {m.PUBACK, m.PUBLISH})
