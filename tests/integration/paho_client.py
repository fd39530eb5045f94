"""A thin, bounded wrapper over paho-mqtt 1.6 (an independent, real client).

Every wait is on an event or a queue with a timeout; the network loop runs in paho's thread and is
always stopped by close().
"""
import queue
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

TIMEOUT = 5.0


class PahoClient:
    def __init__(self, port, client_id='', v5=False, clean=True, keepalive=60):
        self.v5 = v5
        proto = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        kw = {} if v5 else {'clean_session': clean}
        self.c = mqtt.Client(client_id=client_id, protocol=proto, **kw)
        self.messages = queue.Queue()
        self.connack = queue.Queue()
        self.subacks = {}
        self._lock = threading.Lock()
        self.disconnected = threading.Event()
        self.c.on_connect = self._on_connect
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.on_subscribe = self._on_subscribe
        self.c.on_disconnect = lambda c, u, rc, *a: self.disconnected.set()
        self.port, self.keepalive, self.clean = port, keepalive, clean

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        self.connack.put((flags, rc, properties))

    def _on_subscribe(self, client, userdata, mid, granted, properties=None):
        with self._lock:
            ev = self.subacks.setdefault(mid, [threading.Event(), None])
        ev[1] = granted
        ev[0].set()

    def connect(self, properties=None):
        """Connects and returns (flags, rc, properties) from the CONNACK."""
        kw = {}
        if self.v5:
            kw = {'clean_start': self.clean, 'properties': properties}
        self.c.connect('127.0.0.1', self.port, self.keepalive, **kw)
        self.c.loop_start()
        return self.connack.get(timeout=TIMEOUT)

    def subscribe(self, topic, qos=0, options=None, properties=None):
        """Subscribes and waits for the SUBACK; returns the granted QoS / reason codes."""
        if self.v5:
            rc, mid = self.c.subscribe(topic, options=options or mqtt.SubscribeOptions(qos=qos),
                                       properties=properties)
        else:
            rc, mid = self.c.subscribe(topic, qos)
        assert rc == mqtt.MQTT_ERR_SUCCESS, rc
        with self._lock:
            ev = self.subacks.setdefault(mid, [threading.Event(), None])
        if not ev[0].wait(TIMEOUT):
            raise TimeoutError('no SUBACK')
        return ev[1]

    def publish(self, topic, payload, qos=0, retain=False, properties=None):
        info = self.c.publish(topic, payload, qos, retain, properties=properties)
        info.wait_for_publish(TIMEOUT)
        if not info.is_published():
            raise TimeoutError('publish not completed')

    def get(self, timeout=TIMEOUT):
        return self.messages.get(timeout=timeout)

    def disconnect(self, properties=None):
        """Sends DISCONNECT and waits until paho has written it and closed the socket, then
        stops the network thread. Stopping it right after c.disconnect() can end the thread
        before it writes the packet: the socket then stays open and silent, and the broker
        never sees the DISCONNECT (no session end, a will where none is due)."""
        try:
            rc = self.c.disconnect(properties=properties)
            if rc == mqtt.MQTT_ERR_SUCCESS and not self.disconnected.wait(TIMEOUT):
                raise TimeoutError('paho did not complete its DISCONNECT')
        finally:
            self.c.loop_stop()

    def close(self):
        """disconnect(), for cleanup: a client the broker already closed (and paho may be
        reconnecting) gets no on_disconnect for this DISCONNECT, and that is no test failure."""
        try:
            self.disconnect()
        except TimeoutError:
            pass


def v5_properties(packet_type, **values):
    """Properties(PacketTypes.PUBLISH, ContentType='x', UserProperty=[('k', 'v')])."""
    p = Properties(getattr(PacketTypes, packet_type))
    for k, v in values.items():
        setattr(p, k, v)
    return p
