"""MQTT 5.0 basics: reason codes, server DISCONNECT, properties forwarded, subscription options,
session expiry and message expiry (MQTT 5.0 sections 3.1-3.4, 3.8-3.9, 3.14, 4.13)."""
import time
import unittest

import paho.mqtt.client as mqtt

import mqtt_raw as m
from broker import BrokerTest, mosquitto_deviates
from paho_client import PahoClient, v5_properties

V5 = m.V5


def reason_of(ack):
    """Reason code of a PUBACK/PUBREC/...: absent (remaining length 2) means 0x00 Success."""
    return ack.body[2] if len(ack.body) > 2 else 0


def wait_broker_clock(seconds):
    """Lets the broker's clock advance (message expiry is defined in broker time)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(deadline - time.monotonic())


class Mqtt5ConnectTest(BrokerTest):
    def test_connack_reason_code_success_and_session_present_0(self):
        c = self.client(V5)
        self.assertEqual(m.connack_codes(c.connect('v5-ok')), (0, 0))

    def test_zero_length_client_id_gets_assigned_client_identifier(self):
        c = self.client(V5)
        connack = c.connect('')
        self.assertEqual(connack.body[1], 0)
        props, _ = m.parse_props(connack.body, 2)
        assigned = dict(props).get(m.ASSIGNED_CLIENT_ID)
        self.assertTrue(assigned, 'no Assigned Client Identifier in %r' % props)

    def test_unsupported_authentication_method_gets_connack_0x8c_or_0x87_then_close(self):
        c = self.client(V5)
        c.send(m.connect('auth', version=V5, properties=[(m.AUTH_METHOD, 'NO-SUCH-METHOD')]))
        pkts = c.packets_until_close(2)
        self.assertIsNotNone(pkts, 'connection not closed')
        self.assertEqual([p.type for p in pkts], [m.CONNACK])
        self.assertIn(pkts[0].body[1], (0x8C, 0x87))

    @mosquitto_deviates('2.0.11 closes the old connection without the DISCONNECT 0x8E (3.1.4-3)')
    def test_session_takeover_sends_disconnect_0x8e_before_close(self):
        first = self.client(V5)
        first.connect('v5-take')
        self.connected('v5-take', version=V5)
        pkts = first.packets_until_close(2)
        self.assertIsNotNone(pkts, 'first connection not closed')
        self.assertEqual([(p.type, p.body[:1]) for p in pkts], [(m.DISCONNECT, b'\x8e')])

    def test_second_connect_closes_without_disconnect(self):
        c = self.connected('v5-twice', version=V5)
        c.send(m.connect('v5-twice', version=V5))
        self.assertEqual(c.packets_until_close(2), [], 'closed, with no packet first')

    def test_server_disconnect_carries_malformed_or_protocol_error_reason_on_bad_publish(self):
        c = self.connected('v5-bad', version=V5)
        c.send(m.publish('a/+', b'x', version=V5))  # wildcard in a topic name
        pkts = c.packets_until_close(2)
        self.assertIsNotNone(pkts, 'connection not closed')
        self.assertEqual([p.type for p in pkts], [m.DISCONNECT])
        self.assertIn(pkts[0].body[0], (0x81, 0x82, 0x90))

    def test_session_expiry_interval_keeps_session_after_disconnect(self):
        c = self.connected('v5-keep', version=V5, properties=[(m.SESSION_EXPIRY, 60)])
        c.subscribe([('se/x', 1)])
        c.send(m.disconnect(V5))
        self.assertTrue(c.closed_within(2))
        self.connected(version=V5).publish('se/x', b'kept', qos=1)
        c2 = self.client(V5)
        self.assertEqual(m.connack_codes(c2.connect('v5-keep', clean=False,
                                                    properties=[(m.SESSION_EXPIRY, 60)])), (1, 0))
        self.assertEqual(self.receive(c2, 1)[0].payload, b'kept')

    def test_session_expiry_absent_ends_session_at_disconnect(self):
        c = self.connected('v5-gone', clean=False, version=V5)
        c.subscribe([('se/y', 1)])
        c.send(m.disconnect(V5))
        self.assertTrue(c.closed_within(2))
        c2 = self.client(V5)
        self.assertEqual(m.connack_codes(c2.connect('v5-gone', clean=False)), (0, 0))


class Mqtt5AckTest(BrokerTest):
    def test_suback_reason_codes_are_granted_qos(self):
        c = self.connected(version=V5)
        self.assertEqual(c.subscribe([('s/0', 0), ('s/1', 1), ('s/2', 2)]), [0, 1, 2])

    def test_invalid_filter_gets_suback_0x8f_or_connection_closed(self):
        c = self.connected(version=V5)
        c.send(m.subscribe(1, [('ok', 0), ('a/#/b', 0)], version=V5))
        try:
            pkt = c.recv(2)
        except m.Closed:
            pkt = None
        if pkt is not None and pkt.type == m.SUBACK:
            _, i = m.parse_props(pkt.body, 2)
            self.assertEqual(pkt.body[i:], b'\x00\x8f')
        else:  # closed, with or without a DISCONNECT first
            self.assertTrue(pkt is None or pkt.type == m.DISCONNECT, pkt)
            self.assertTrue(pkt is None or c.closed_within(2))
        self.assert_serving()

    def test_puback_reason_is_success_or_0x10_no_matching_subscribers(self):
        c = self.connected(version=V5)
        [puback] = c.publish('nobody/listens', b'x', qos=1)
        self.assertIn(reason_of(puback), (0x00, 0x10))

    def test_puback_reason_is_success_with_a_subscriber(self):
        self.subscribed([('somebody', 1)], version=V5)
        [puback] = self.connected(version=V5).publish('somebody', b'x', qos=1)
        self.assertEqual(reason_of(puback), 0x00)

    def test_unsuback_reason_success_and_no_subscription_existed(self):
        c = self.subscribed([('us/a', 0)], version=V5)
        c.send(m.unsubscribe(3, ['us/a', 'us/none'], version=V5))
        unsuback = c.expect(m.UNSUBACK)
        _, i = m.parse_props(unsuback.body, 2)
        self.assertEqual(unsuback.body[i:], b'\x00\x11')


class Mqtt5PropertiesTest(BrokerTest):
    def paho(self, client_id):
        c = PahoClient(self.port, client_id, v5=True)
        self.addCleanup(c.close)
        self.assertEqual(c.connect()[1], 0)
        return c

    def test_user_properties_and_content_type_are_forwarded(self):
        sub, pub = self.paho('p5-sub'), self.paho('p5-pub')
        sub.subscribe('props', 1)
        props = v5_properties('PUBLISH', ContentType='application/json',
                              UserProperty=[('k1', 'v1'), ('k1', 'v2'), ('k2', 'v3')],
                              ResponseTopic='reply/here', CorrelationData=b'\x01\x02',
                              PayloadFormatIndicator=1)
        pub.publish('props', b'{}', 1, properties=props)
        msg = sub.get()
        self.assertEqual(msg.properties.ContentType, 'application/json')
        self.assertEqual(msg.properties.UserProperty, [('k1', 'v1'), ('k1', 'v2'), ('k2', 'v3')])
        self.assertEqual(msg.properties.ResponseTopic, 'reply/here')
        self.assertEqual(msg.properties.CorrelationData, b'\x01\x02')
        self.assertEqual(msg.properties.PayloadFormatIndicator, 1)

    def test_subscription_identifier_is_delivered(self):
        sub, pub = self.paho('sid-sub'), self.paho('sid-pub')
        sub.subscribe('sid/+', 0, properties=v5_properties('SUBSCRIBE', SubscriptionIdentifier=42))
        pub.publish('sid/x', b'x', 0)
        self.assertEqual(sub.get().properties.SubscriptionIdentifier, [42])

    def test_no_local_suppresses_own_messages(self):
        c, other = self.paho('nl'), self.paho('nl-other')
        c.subscribe('nl/t', options=mqtt.SubscribeOptions(qos=1, noLocal=True))
        c.publish('nl/t', b'own', 1)
        other.publish('nl/t', b'theirs', 1)
        self.assertEqual(c.get().payload, b'theirs')  # 'own' would have arrived first

    def test_retain_as_published_keeps_retain_flag_on_live_delivery(self):
        rap, plain, pub = self.paho('rap'), self.paho('plain'), self.paho('rap-pub')
        rap.subscribe('rap/t', options=mqtt.SubscribeOptions(qos=0, retainAsPublished=True))
        plain.subscribe('rap/t', 0)
        pub.publish('rap/t', b'r', 1, retain=True)
        self.assertEqual(rap.get().retain, 1)
        self.assertEqual(plain.get().retain, 0)

    def test_retain_handling_2_sends_no_retained_messages_on_subscribe(self):
        pub = self.connected(version=V5)
        pub.publish('rh/t', b'old', qos=1, retain=True)
        sub = self.connected(version=V5)
        self.assertEqual(sub.subscribe([('rh/t', 0x20 | 1), ('marker/end', 1)]), [1, 1])
        self.assertEqual(self.publishes_before_marker(sub, pub), [])


class Mqtt5ExpiryTest(BrokerTest):
    def test_retained_message_with_expiry_1s_not_delivered_after_2s(self):
        pub = self.connected(version=V5)
        pub.publish('exp/r', b'short', qos=1, retain=True, properties=[(m.MESSAGE_EXPIRY, 1)])
        pub.publish('exp/keep', b'long', qos=1, pid=2, retain=True,
                    properties=[(m.MESSAGE_EXPIRY, 60)])
        wait_broker_clock(2.0)
        sub = self.connected(version=V5)
        sub.subscribe([('exp/#', 1), ('marker/end', 1)])
        got = self.publishes_before_marker(sub, pub)
        self.assertEqual([p.payload for p in got], [b'long'])

    def test_queued_message_with_expiry_1s_not_delivered_after_2s(self):
        c = self.connected('exp-q', version=V5, properties=[(m.SESSION_EXPIRY, 60)])
        c.subscribe([('exp/q', 1), ('marker/end', 1)])
        c.send(m.disconnect(V5))
        self.assertTrue(c.closed_within(2))
        pub = self.connected(version=V5)
        pub.publish('exp/q', b'short', qos=1, properties=[(m.MESSAGE_EXPIRY, 1)])
        pub.publish('exp/q', b'long', qos=1, pid=2, properties=[(m.MESSAGE_EXPIRY, 60)])
        wait_broker_clock(2.0)
        c2 = self.client(V5)
        self.assertEqual(m.connack_codes(c2.connect('exp-q', clean=False,
                                                    properties=[(m.SESSION_EXPIRY, 60)])), (1, 0))
        got = self.publishes_before_marker(c2, pub)
        self.assertEqual([p.payload for p in got], [b'long'])
        self.assertLessEqual(got[0].prop(m.MESSAGE_EXPIRY), 59)  # MQTT-3.3.2-6: time waited

    def test_live_message_keeps_its_remaining_expiry_interval(self):
        sub = self.subscribed([('exp/live', 0)], version=V5)
        self.connected(version=V5).publish('exp/live', b'x', properties=[(m.MESSAGE_EXPIRY, 60)])
        self.assertIn(sub.recv_publish().prop(m.MESSAGE_EXPIRY), (59, 60))


if __name__ == '__main__':
    unittest.main()
