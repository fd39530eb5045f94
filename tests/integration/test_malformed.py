"""Malformed packets and protocol violations on the wire, hand-written bytes
(MQTT 3.1.1 sections 1.5.3, 2.2, 2.3, 3.x fixed headers, 4.7.3, 4.8).

For each case: the offending connection is closed (recv returns b'' within 2 s) and a client
connected before it stays usable (a publish/subscribe round trip still works).
"""
import struct
import time
import unittest

import mqtt_raw as m
from broker import BrokerTest, mosquitto_deviates


def publish_raw(topic_bytes, flags=0, pid=b'', payload=b'x'):
    return m.packet(m.PUBLISH, flags, struct.pack('>H', len(topic_bytes)) + topic_bytes + pid
                    + payload)


class MalformedTest(BrokerTest):
    def assert_closes(self, data, connect=True):
        bystander = self.subscribed([('bystander', 1)], client_id='bystander')
        c = self.client()
        if connect:
            self.assertEqual(m.connack_codes(c.connect('offender')), (0, 0))
        c.send(data)
        self.assertTrue(c.closed_within(2), 'connection not closed after %r' % data[:32])
        self.connected().publish('bystander', b'alive', qos=1)
        msg = self.receive(bystander, 1)[0]
        self.assertEqual(msg.payload, b'alive')
        bystander.ping()

    def test_remaining_length_with_five_continuation_bytes(self):
        self.assert_closes(b'\x30\xff\xff\xff\xff\x7f')

    def test_remaining_length_with_five_continuation_bytes_before_connect(self):
        self.assert_closes(b'\x10\xff\xff\xff\xff\x7f', connect=False)

    def test_subscribe_reserved_flags_0000_instead_of_0010(self):
        self.assert_closes(m.subscribe(1, [('a', 0)], flags=0))

    def test_unsubscribe_reserved_flags_0000_instead_of_0010(self):
        self.assert_closes(m.packet(m.UNSUBSCRIBE, 0, b'\x00\x01' + m.utf8('a')))

    def test_pubrel_reserved_flags_0000_instead_of_0010(self):
        self.assert_closes(m.packet(m.PUBREL, 0, b'\x00\x01'))

    def test_subscribe_reserved_bits_in_requested_qos_byte(self):
        self.assert_closes(m.subscribe(1, [('a', 0x04)]))

    def test_publish_with_qos_3(self):
        self.assert_closes(publish_raw(b'a', flags=0x06, pid=b'\x00\x01'))

    def test_publish_topic_with_plus_wildcard(self):
        self.assert_closes(m.publish('a/+', b'x'))

    def test_publish_topic_with_hash_wildcard(self):
        self.assert_closes(m.publish('a/#', b'x'))

    def test_publish_with_zero_length_topic(self):
        self.assert_closes(publish_raw(b''))

    def test_qos1_publish_with_packet_id_0(self):
        self.assert_closes(publish_raw(b'a', flags=0x02, pid=b'\x00\x00'))

    def test_qos2_publish_with_packet_id_0(self):
        self.assert_closes(publish_raw(b'a', flags=0x04, pid=b'\x00\x00'))

    def test_subscribe_with_packet_id_0(self):
        self.assert_closes(m.subscribe(0, [('a', 0)]))

    def test_topic_with_overlong_utf8_nul_c0_80(self):
        self.assert_closes(publish_raw(b'a\xc0\x80b'))

    def test_topic_with_utf16_surrogate_d800(self):
        self.assert_closes(publish_raw(b'a\xed\xa0\x80b'))

    def test_topic_with_nul_character(self):
        self.assert_closes(publish_raw(b'a\x00b'))

    def test_topic_with_invalid_utf8_byte_ff(self):
        self.assert_closes(publish_raw(b'a\xffb'))

    def test_subscribe_filter_with_invalid_utf8(self):
        self.assert_closes(m.packet(m.SUBSCRIBE, 2, b'\x00\x01\x00\x02\xc0\x80\x00'))

    def test_connect_client_id_with_invalid_utf8(self):
        body = m.utf8(b'MQTT') + b'\x04\x02\x00\x3c' + b'\x00\x02\xc0\x80'
        self.assert_closes(m.packet(m.CONNECT, 0, body), connect=False)

    def test_connect_with_string_length_beyond_packet(self):
        body = m.utf8(b'MQTT') + b'\x04\x02\x00\x3c' + b'\x00\x20abc'
        self.assert_closes(m.packet(m.CONNECT, 0, body), connect=False)

    def connect_with_flags(self, flags, extra=b''):
        body = m.utf8(b'MQTT') + bytes([4, flags]) + b'\x00\x3c' + m.utf8('flags') + extra
        self.assert_closes(m.packet(m.CONNECT, 0, body), connect=False)

    def test_connect_will_qos_3(self):
        self.connect_with_flags(0x02 | 0x04 | 0x18, m.utf8('w') + m.utf8('p'))

    def test_connect_will_qos_set_without_will_flag(self):
        self.connect_with_flags(0x02 | 0x08)

    def test_connect_will_retain_set_without_will_flag(self):
        self.connect_with_flags(0x02 | 0x20)

    def test_connect_password_flag_without_username_flag(self):
        self.connect_with_flags(0x02 | 0x40, m.utf8('secret'))

    def test_unsubscribe_without_filters(self):
        self.assert_closes(m.unsubscribe(1, []))

    def test_connect_with_wrong_protocol_name(self):
        self.assert_closes(m.connect('x', name=b'MQTX'), connect=False)

    @mosquitto_deviates('it answers a PINGREQ with remaining length 1 (2.2.2 / 3.12: no payload)')
    def test_pingreq_with_trailing_garbage_in_remaining_length(self):
        self.assert_closes(b'\xc0\x01\x00')

    @mosquitto_deviates('it answers a PINGREQ with flags 0001 (MQTT-2.2.2-2: MUST close)')
    def test_pingreq_with_reserved_flags_set(self):
        self.assert_closes(b'\xc1\x00')

    def test_disconnect_with_nonzero_remaining_length_in_3_1_1(self):
        self.assert_closes(b'\xe0\x01\x00')

    def test_reserved_packet_type_0(self):
        self.assert_closes(b'\x00\x00')

    def test_auth_packet_type_15_in_3_1_1(self):
        self.assert_closes(b'\xf0\x00')

    def test_connack_sent_by_client(self):
        self.assert_closes(b'\x20\x02\x00\x00')

    def test_puback_shorter_than_packet_id(self):
        self.assert_closes(b'\x40\x01\x00')

    def test_a_client_that_keeps_writing_after_the_close_is_cut_off(self):
        # The broker lingers on a close, reading and dropping what the client still sends
        # (docs/mqtt_conformance.md, Limits), but not forever: a client that never stops writing
        # is closed for good within the linger time (2 s), and its writes then fail.
        c = self.client()
        self.assertEqual(m.connack_codes(c.connect('writer')), (0, 0))
        c.send(m.publish('a/+', b'x'))  # a wildcard in a topic name: closed
        self.assertTrue(c.closed_within(2), 'no end of stream after the violation')
        deadline = time.monotonic() + 10
        with self.assertRaises((BrokenPipeError, ConnectionResetError)):
            while time.monotonic() < deadline:
                c.send(m.publish('t', b'y' * 1000))
                time.sleep(0.005)  # pace the writes; the broker's close ends the loop
        self.connected().ping()


if __name__ == '__main__':
    unittest.main()
