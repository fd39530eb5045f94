"""What every conformance test file imports: the integration helpers and a few assertions.

The suite reuses tests/integration/ (broker.py starts the real binary on an ephemeral loopback
port, one fresh broker per test; mqtt_raw.py is the raw-socket client; paho_client.py wraps
paho-mqtt 1.6). This module puts that folder on sys.path, so a file runs by hand from here:

    cd tests/conformance && TELEMQ_BINARY=../../build/release/broker/telemq \\
        /usr/bin/python3 -m unittest -v test_v311_connect

Against Mosquitto (to check the tests themselves): TELEMQ_TEST_BROKER=mosquitto instead of
TELEMQ_BINARY. Tests of telemq-only behaviour skip there; tests where Mosquitto 2.0.11 deviates
from the rule are marked with mosquitto_deviates.

Timing: nothing here sleeps to synchronise. Tests wait for a concrete packet or event with a
deadline; where the rule is that something must NOT happen, they either publish a marker after it
and check what arrived before the marker (no wait at all), or, where no marker can follow (a
connection that must stay silent), wait a short bounded time (ABSENCE_S).
"""
import os
import queue
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))

import mqtt_raw  # noqa: E402
from broker import BrokerTest, IS_MOSQUITTO, mosquitto_deviates, telemq_only  # noqa: E402,F401
from paho_client import PahoClient, v5_properties  # noqa: E402,F401

m = mqtt_raw
V311, V5 = m.V311, m.V5

# How long a connection must stay silent to count as "nothing was sent" where no marker can
# follow. Small: it only bounds a wait for something that should never come.
ABSENCE_S = 0.5


def reason_of(pkt):
    """Reason code of a 5.0 PUBACK/PUBREC/PUBREL/PUBCOMP: absent (remaining length 2) = 0x00."""
    return pkt.body[2] if len(pkt.body) > 2 else 0


def ack_properties(pkt):
    """Properties of a 5.0 PUBACK..PUBCOMP ([] when the short form is used)."""
    return m.parse_props(pkt.body, 3)[0] if len(pkt.body) > 3 else []


def connack_properties(pkt):
    """Properties of a 5.0 CONNACK as a list of (id, value)."""
    return m.parse_props(pkt.body, 2)[0]


def connack_property(pkt, pid, default=None):
    return next((v for k, v in connack_properties(pkt) if k == pid), default)


def disconnect_reason(pkt):
    """Reason code of a 5.0 DISCONNECT (remaining length 0 = 0x00 Normal)."""
    return pkt.body[0] if pkt.body else 0


def suback_codes(pkt, version):
    start = m.parse_props(pkt.body, 2)[1] if version == V5 else 2
    return list(pkt.body[start:])


def unsuback_codes(pkt):
    """5.0 UNSUBACK reason codes."""
    return list(pkt.body[m.parse_props(pkt.body, 2)[1]:])


class ConformanceTest(BrokerTest):
    """BrokerTest plus the assertions the conformance files share."""

    def assert_closed(self, c, timeout=3.0, allowed=()):
        """The broker closes c within timeout. Packets before the close must be of a type in
        allowed (e.g. (m.DISCONNECT,) for 5.0); they are returned."""
        pkts = c.packets_until_close(timeout)
        self.assertIsNotNone(pkts, 'connection not closed within %.1f s' % timeout)
        self.assertTrue(all(p.type in allowed for p in pkts), 'unexpected packets %r' % pkts)
        return pkts

    def assert_disconnected_with(self, c, reason, timeout=3.0):
        """5.0: the broker sends DISCONNECT with reason (or one of the reasons), then closes."""
        pkts = self.assert_closed(c, timeout, allowed=(m.DISCONNECT,))
        self.assertEqual(len(pkts), 1, 'no DISCONNECT before the close: %r' % pkts)
        reasons = reason if isinstance(reason, tuple) else (reason,)
        self.assertIn(disconnect_reason(pkts[0]), reasons, pkts[0])

    def assert_silent(self, c, seconds=ABSENCE_S):
        """Nothing arrives on c for seconds (the connection stays open)."""
        try:
            pkt = c.recv(seconds)
        except TimeoutError:
            return
        self.fail('unexpected packet %r' % pkt)

    def v5_connected(self, client_id='', clean=True, properties=(), **kw):
        """A raw 5.0 client whose CONNECT was accepted; returns (client, connack)."""
        c = self.client(V5)
        connack = c.connect(client_id, clean, properties=properties, **kw)
        self.assertEqual(connack.body[1], 0, 'CONNECT refused: %r' % connack)
        return c, connack

    def paho(self, client_id='', v5=False, clean=True, keepalive=60, properties=None, will=None):
        """A connected paho-mqtt client (RecordingPaho), closed at cleanup. will: dict of
        paho's will_set arguments (topic, payload, qos, retain, properties)."""
        c = RecordingPaho(self.port, client_id, v5=v5, clean=clean, keepalive=keepalive)
        self.addCleanup(c.close)
        if will:
            c.c.will_set(**will)
        flags, rc, connack_props = c.connect(properties)
        self.assertEqual(rc, 0, 'paho CONNECT refused: %s' % rc)
        c.session_present = flags.get('session present', 0)
        c.connack_properties = connack_props
        return c


class RecordingPaho(PahoClient):
    """PahoClient that also records the reason of a server DISCONNECT and UNSUBACKs."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.disconnects = queue.Queue()
        self.unsubacks = queue.Queue()
        self.c.on_disconnect = self._on_disconnect
        self.c.on_unsubscribe = lambda c, u, mid, *rest: self.unsubacks.put((mid, rest))

    def _on_disconnect(self, client, userdata, rc, properties=None):
        self.disconnects.put(rc)
        self.disconnected.set()

    def unsubscribe(self, topic):
        rc, mid = self.c.unsubscribe(topic)
        assert rc == 0, rc
        got_mid, _ = self.unsubacks.get(timeout=5)
        assert got_mid == mid, (got_mid, mid)

    def until_marker(self, publisher, marker='marker/end'):
        """Publishes marker through publisher (a RecordingPaho or raw client) and returns the
        messages this client received before it: proves an absence without waiting for a
        timeout. See before_marker for the rules."""
        return before_marker(publisher, self, marker=marker)[0]

    def wait_marker(self, marker='marker/end'):
        """The messages received before the next message on marker."""
        out = []
        while True:
            msg = self.get()
            if msg.topic == marker:
                return out
            out.append(msg)

    def close(self):
        if getattr(self, 'dropped', False):
            return
        try:
            super().close()
        except OSError:  # the broker closed the connection already
            self.c.loop_stop()

    def stop_network(self):
        """Stops paho's network thread without closing the socket: the client goes silent, as a
        client that hangs (no PINGREQ, no DISCONNECT)."""
        self.c.loop_stop()

    def drop(self):
        """Closes the socket without DISCONNECT, as a client that crashes."""
        self.c.loop_stop()
        sock = self.c.socket()
        if sock is not None:
            sock.close()
        self.dropped = True


def before_marker(publisher, *clients, marker='marker/end'):
    """Publishes one marker message through publisher and returns, for each RecordingPaho in
    clients, the messages it received before the marker. Every client must be subscribed to marker
    at QoS 2: paho-mqtt hands a QoS 2 message to the application at PUBREL, later than QoS 0/1
    ones, so only a QoS 2 marker is sure to come after every message published before it."""
    publisher.publish(marker, b'marker', qos=2)
    return [c.wait_marker(marker) for c in clients]
