"""A tiny hand-written MQTT 3.1.1 / 5.0 client over a raw socket, for tests.

It encodes packets byte by byte and reads packets with a timeout, so tests can
send exactly what they want (including malformed bytes) and observe exactly
what the broker sends back (flags, packet ids, DUP, RETAIN, reason codes).

Every read has a deadline: a broker that never answers makes a test fail after
the timeout; it never hangs.
"""
import socket
import struct
import time

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT, AUTH = 12, 13, 14, 15

V311, V5 = 4, 5

# MQTT 5 property ids and their wire types.
PAYLOAD_FORMAT, MESSAGE_EXPIRY, CONTENT_TYPE, RESPONSE_TOPIC = 0x01, 0x02, 0x03, 0x08
CORRELATION_DATA, SUBSCRIPTION_ID, SESSION_EXPIRY = 0x09, 0x0B, 0x11
ASSIGNED_CLIENT_ID, SERVER_KEEP_ALIVE, AUTH_METHOD = 0x12, 0x13, 0x15
REASON_STRING, RECEIVE_MAXIMUM, TOPIC_ALIAS_MAX, TOPIC_ALIAS = 0x1F, 0x21, 0x22, 0x23
MAXIMUM_QOS, RETAIN_AVAILABLE, USER_PROPERTY, MAXIMUM_PACKET_SIZE = 0x24, 0x25, 0x26, 0x27
_BYTE, _U16, _U32, _VARINT, _STR, _BIN, _PAIR = range(7)
_PROP_TYPES = {
    0x01: _BYTE, 0x02: _U32, 0x03: _STR, 0x08: _STR, 0x09: _BIN, 0x0B: _VARINT,
    0x11: _U32, 0x12: _STR, 0x13: _U16, 0x15: _STR, 0x16: _BIN, 0x17: _BYTE,
    0x18: _U32, 0x19: _BYTE, 0x1A: _STR, 0x1C: _STR, 0x1F: _STR, 0x21: _U16,
    0x22: _U16, 0x23: _U16, 0x24: _BYTE, 0x25: _BYTE, 0x26: _PAIR, 0x27: _U32,
    0x28: _BYTE, 0x29: _BYTE, 0x2A: _BYTE,
}


def varint(n):
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8(s):
    b = s.encode() if isinstance(s, str) else bytes(s)
    return struct.pack('>H', len(b)) + b


def props(items=()):
    """Encodes MQTT 5 properties from a list of (id, value) pairs."""
    out = bytearray()
    for pid, value in items:
        kind = _PROP_TYPES[pid]
        out += varint(pid)
        if kind == _BYTE:
            out.append(value)
        elif kind == _U16:
            out += struct.pack('>H', value)
        elif kind == _U32:
            out += struct.pack('>I', value)
        elif kind == _VARINT:
            out += varint(value)
        elif kind in (_STR, _BIN):
            out += utf8(value)
        else:
            out += utf8(value[0]) + utf8(value[1])
    return varint(len(out)) + bytes(out)


def packet(ptype, flags, body):
    return bytes([ptype << 4 | flags]) + varint(len(body)) + body


def connect(client_id='', clean=True, keepalive=60, version=V311, will=None,
            properties=(), name=b'MQTT', reserved=False):
    """will = dict(topic, payload, qos=0, retain=False, properties=())."""
    flags = (0x02 if clean else 0) | (0x01 if reserved else 0)
    payload = utf8(client_id)
    if will:
        flags |= 0x04 | will.get('qos', 0) << 3 | (0x20 if will.get('retain') else 0)
        if version == V5:
            payload += props(will.get('properties', ()))
        payload += utf8(will['topic']) + utf8(will['payload'])
    body = utf8(name) + bytes([version, flags]) + struct.pack('>H', keepalive)
    if version == V5:
        body += props(properties)
    return packet(CONNECT, 0, body + payload)


def publish(topic, payload=b'', qos=0, pid=None, retain=False, dup=False,
            version=V311, properties=()):
    if isinstance(payload, str):
        payload = payload.encode()
    flags = qos << 1 | (1 if retain else 0) | (8 if dup else 0)
    body = utf8(topic)
    if qos:
        body += struct.pack('>H', pid if pid is not None else 1)
    if version == V5:
        body += props(properties)
    return packet(PUBLISH, flags, body + payload)


def ack(ptype, pid):
    """PUBACK, PUBREC, PUBREL (flags 0010) or PUBCOMP with only a packet id."""
    return packet(ptype, 2 if ptype == PUBREL else 0, struct.pack('>H', pid))


def subscribe(pid, filters, version=V311, properties=(), flags=2):
    """filters: list of (filter, options); options is the QoS byte (5.0: with options bits)."""
    body = struct.pack('>H', pid)
    if version == V5:
        body += props(properties)
    for f, opts in filters:
        body += utf8(f) + bytes([opts])
    return packet(SUBSCRIBE, flags, body)


def unsubscribe(pid, filters, version=V311):
    body = struct.pack('>H', pid) + (props() if version == V5 else b'')
    return packet(UNSUBSCRIBE, 2, body + b''.join(utf8(f) for f in filters))


PING = packet(PINGREQ, 0, b'')


def disconnect(version=V311, reason=0, properties=()):
    return packet(DISCONNECT, 0, b'' if version == V311 else bytes([reason]) + props(properties))


class Packet:
    def __init__(self, ptype, flags, body):
        self.type, self.flags, self.body = ptype, flags, body

    def __repr__(self):
        return 'Packet(type=%d, flags=%#x, body=%r)' % (self.type, self.flags, self.body[:64])

    @property
    def pid(self):
        return struct.unpack('>H', self.body[:2])[0]


class Publish:
    """A decoded PUBLISH."""

    def __init__(self, pkt, version):
        self.qos, self.dup, self.retain = pkt.flags >> 1 & 3, bool(pkt.flags & 8), bool(pkt.flags & 1)
        n = struct.unpack('>H', pkt.body[:2])[0]
        self.topic = pkt.body[2:2 + n].decode()
        i = 2 + n
        self.pid = None
        if self.qos:
            self.pid = struct.unpack('>H', pkt.body[i:i + 2])[0]
            i += 2
        self.properties = []
        if version == V5:
            self.properties, i = parse_props(pkt.body, i)
        self.payload = pkt.body[i:]

    def prop(self, pid, default=None):
        return next((v for k, v in self.properties if k == pid), default)

    def __repr__(self):
        return 'Publish(%s q%d dup=%d ret=%d pid=%s %r)' % (
            self.topic, self.qos, self.dup, self.retain, self.pid, self.payload[:40])


def read_varint(buf, i):
    n, mult = 0, 1
    while True:
        b = buf[i]
        i += 1
        n += (b & 127) * mult
        mult *= 128
        if not b & 128:
            return n, i


def parse_props(buf, i):
    """Returns ([(id, value)], index after the properties)."""
    length, i = read_varint(buf, i)
    end, out = i + length, []
    while i < end:
        pid, i = read_varint(buf, i)
        kind = _PROP_TYPES[pid]
        if kind == _BYTE:
            v, i = buf[i], i + 1
        elif kind == _U16:
            v, i = struct.unpack('>H', buf[i:i + 2])[0], i + 2
        elif kind == _U32:
            v, i = struct.unpack('>I', buf[i:i + 4])[0], i + 4
        elif kind == _VARINT:
            v, i = read_varint(buf, i)
        else:
            strings = []
            for _ in range(2 if kind == _PAIR else 1):
                n = struct.unpack('>H', buf[i:i + 2])[0]
                raw = bytes(buf[i + 2:i + 2 + n])
                strings.append(raw if kind == _BIN else raw.decode())
                i += 2 + n
            v = tuple(strings) if kind == _PAIR else strings[0]
        out.append((pid, v))
    return out, end


class Closed(Exception):
    """The broker closed the connection."""


class Client:
    """One raw connection. recv() returns a Packet, or raises Closed / TimeoutError."""

    def __init__(self, port, host='127.0.0.1', version=V311, timeout=5.0):
        self.version = version
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError('no packet from the broker in time')
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError('no packet from the broker in time') from None
        except (ConnectionResetError, BrokenPipeError):
            data = b''
        if not data:
            raise Closed('connection closed by the broker')
        self.buf += data

    def recv(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 2:
                length, mult, i = 0, 1, 1
                while i < len(self.buf) and i <= 4:
                    b = self.buf[i]
                    length += (b & 127) * mult
                    mult *= 128
                    i += 1
                    if not b & 128:
                        if len(self.buf) >= i + length:
                            pkt = Packet(self.buf[0] >> 4, self.buf[0] & 15,
                                         bytes(self.buf[i:i + length]))
                            del self.buf[:i + length]
                            return pkt
                        break
            self._fill(deadline)

    def expect(self, ptype, timeout=5.0):
        pkt = self.recv(timeout)
        if pkt.type != ptype:
            raise AssertionError('expected packet type %d, got %r' % (ptype, pkt))
        return pkt

    def recv_publish(self, timeout=5.0):
        return Publish(self.expect(PUBLISH, timeout), self.version)

    def closed_within(self, timeout):
        """True if the broker closes the connection within timeout (packets before it are ignored)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.recv(max(0.0, deadline - time.monotonic()))
        except Closed:
            return True
        except TimeoutError:
            return False

    def packets_until_close(self, timeout):
        """Packets received before the broker closed; None if it did not close in time."""
        deadline, out = time.monotonic() + timeout, []
        try:
            while True:
                out.append(self.recv(max(0.0, deadline - time.monotonic())))
        except Closed:
            return out
        except TimeoutError:
            return None

    # Convenience flows.
    def connect(self, client_id='', clean=True, keepalive=60, **kw):
        """Sends CONNECT and returns the CONNACK packet."""
        self.send(connect(client_id, clean, keepalive, version=self.version, **kw))
        return self.expect(CONNACK)

    def subscribe(self, filters, pid=1, properties=()):
        """filters: list of (filter, qos/options). Returns the list of SUBACK return codes."""
        self.send(subscribe(pid, filters, self.version, properties))
        suback = self.expect(SUBACK)
        assert suback.pid == pid, suback
        start = 2
        if self.version == V5:
            _, start = parse_props(suback.body, 2)
        return list(suback.body[start:])

    def publish(self, topic, payload=b'', qos=0, pid=1, retain=False, properties=()):
        """Publishes and completes the QoS flow from the publisher side; returns the ack packets."""
        self.send(publish(topic, payload, qos, pid, retain, version=self.version,
                          properties=properties))
        if qos == 1:
            return [self.expect(PUBACK)]
        if qos == 2:
            rec = self.expect(PUBREC)
            self.send(ack(PUBREL, pid))
            return [rec, self.expect(PUBCOMP)]
        return []

    def ping(self):
        self.send(PING)
        self.expect(PINGRESP)


def connack_codes(pkt):
    """(session_present, return/reason code) of a CONNACK."""
    return pkt.body[0] & 1, pkt.body[1]
