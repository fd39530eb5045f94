"""MQTT 3.1.1 CONNECT and CONNACK (sections 3.1, 3.2): one test per normative statement a server
must satisfy, named after it."""
import struct
import unittest

from support import ConformanceTest, m, mosquitto_deviates, telemq_only


def connect_raw(name=b'MQTT', level=4, flags=0x02, keepalive=60, payload=b'\x00\x01c'):
    body = m.utf8(name) + bytes([level, flags]) + struct.pack('>H', keepalive) + payload
    return m.packet(m.CONNECT, 0, body)


class ConnectTest(ConformanceTest):
    def test_mqtt_3_1_0_1_first_packet_other_than_connect_closes_connection(self):
        for first in (m.subscribe(1, [('a', 0)]), m.publish('a', b'x'), m.PING):
            c = self.client()
            c.send(first)
            self.assert_closed(c)  # and no answer at all
        self.assert_serving()

    def test_mqtt_3_1_0_2_second_connect_is_a_protocol_violation_and_closes(self):
        c = self.connected('twice')
        c.send(m.connect('twice'))
        self.assert_closed(c)

    def test_mqtt_3_1_2_1_wrong_protocol_name_closes_without_accepting(self):
        for name in (b'MQTX', b'mqtt', b'hj'):
            c = self.client()
            c.send(connect_raw(name=name))
            pkts = self.assert_closed(c, allowed=(m.CONNACK,))
            self.assertTrue(all(p.body[1] != 0 for p in pkts), pkts)

    def test_mqtt_3_1_2_2_unsupported_protocol_level_gets_connack_0x01_then_close(self):
        for level in (0, 1, 2, 3, 6, 255):
            c = self.client()
            c.send(connect_raw(level=level))
            pkts = self.assert_closed(c, allowed=(m.CONNACK,))
            self.assertEqual([p.body for p in pkts], [b'\x00\x01'], 'level %d' % level)

    @telemq_only('Mosquitto speaks MQTT 3.1; telemq answers it as an unsupported level')
    def test_mqtt_3_1_2_2_mqtt_3_1_mqisdp_level_3_gets_connack_0x01_then_close(self):
        c = self.client()
        c.send(connect_raw(name=b'MQIsdp', level=3))
        pkts = self.assert_closed(c, allowed=(m.CONNACK,))
        self.assertEqual([p.body for p in pkts], [b'\x00\x01'])

    def test_mqtt_3_1_2_3_reserved_connect_flag_set_closes_without_connack(self):
        c = self.client()
        c.send(connect_raw(flags=0x03))
        self.assert_closed(c)

    def test_mqtt_3_1_2_4_clean_session_0_resumes_the_stored_session(self):
        c = self.connected('resume', clean=False)
        c.subscribe([('cs0/t', 1)])
        c.send(m.disconnect())
        self.assert_closed(c)
        c2 = self.client()
        self.assertEqual(m.connack_codes(c2.connect('resume', clean=False)), (1, 0))
        self.connected().publish('cs0/t', b'kept', qos=1)
        self.assertEqual(self.receive(c2, 1)[0].payload, b'kept')

    def test_mqtt_3_1_2_4_clean_session_0_without_stored_session_creates_one(self):
        c = self.client()
        self.assertEqual(m.connack_codes(c.connect('fresh', clean=False)), (0, 0))
        c.subscribe([('cs0/new', 1)])
        c.close()
        c2 = self.client()
        self.assertEqual(m.connack_codes(c2.connect('fresh', clean=False)), (1, 0))

    def test_mqtt_3_1_2_5_qos1_and_qos2_messages_for_a_disconnected_session_are_stored(self):
        c = self.connected('store', clean=False)
        c.subscribe([('st/#', 2)])
        c.send(m.disconnect())
        self.assert_closed(c)
        pub = self.connected()
        pub.publish('st/1', b'one', qos=1)
        pub.publish('st/2', b'two', qos=2, pid=2)
        c2 = self.client()
        self.assertEqual(m.connack_codes(c2.connect('store', clean=False)), (1, 0))
        got = self.receive(c2, 2)
        self.assertEqual([(p.topic, p.payload, p.qos) for p in got],
                         [('st/1', b'one', 1), ('st/2', b'two', 2)])

    def test_mqtt_3_1_2_6_clean_session_1_discards_the_previous_session(self):
        c = self.connected('discard', clean=False)
        c.subscribe([('disc/t', 1)])
        c.send(m.disconnect())
        self.assert_closed(c)
        pub = self.connected()
        pub.publish('disc/t', b'queued', qos=1)
        c2 = self.client()
        self.assertEqual(m.connack_codes(c2.connect('discard', clean=True)), (0, 0))
        c2.subscribe([('marker/end', 1)])
        pub.publish('disc/t', b'live', qos=1, pid=2)
        self.assertEqual(self.publishes_before_marker(c2, pub), [])

    def test_mqtt_3_1_2_6_clean_session_1_state_ends_with_the_connection(self):
        c = self.connected('ends', clean=True)
        c.subscribe([('ends/t', 1)])
        c.close()
        c2 = self.client()
        self.assertEqual(m.connack_codes(c2.connect('ends', clean=False)), (0, 0))

    def test_mqtt_3_1_2_7_retained_messages_outlive_the_session_that_published_them(self):
        pub = self.connected('retainer', clean=True)
        pub.publish('ret/outlive', b'kept', qos=1, retain=True)
        pub.send(m.disconnect())
        self.assert_closed(pub)
        sub = self.connected()
        sub.subscribe([('ret/outlive', 1)])
        msg = sub.recv_publish()
        self.assertEqual((msg.payload, msg.retain), (b'kept', True))

    def test_mqtt_3_1_2_22_password_flag_without_user_name_flag_closes(self):
        c = self.client()
        c.send(connect_raw(flags=0x42, payload=b'\x00\x01c\x00\x02pw'))
        self.assert_closed(c)

    def test_mqtt_3_1_2_11_will_qos_and_retain_must_be_0_without_will_flag(self):
        for flags in (0x02 | 0x08, 0x02 | 0x10, 0x02 | 0x20):
            c = self.client()
            c.send(connect_raw(flags=flags))
            self.assert_closed(c)

    def test_mqtt_3_1_2_14_will_qos_3_closes(self):
        c = self.client()
        c.send(connect_raw(flags=0x02 | 0x04 | 0x18, payload=b'\x00\x01c\x00\x01w\x00\x01x'))
        self.assert_closed(c)

    def test_mqtt_3_1_3_4_user_name_and_password_are_accepted(self):
        c = self.client()
        c.send(connect_raw(flags=0xC2, payload=b'\x00\x01c\x00\x04user\x00\x03\x00\xffp'))
        self.assertEqual(m.connack_codes(c.expect(m.CONNACK)), (0, 0))

    def test_mqtt_3_1_3_5_client_ids_of_1_to_23_alphanumerics_are_accepted(self):
        for cid in ('a', '0123456789abcdefghijklm', 'ABCDEFGHIJKLMNOPQRSTUVW'):
            c = self.client()
            self.assertEqual(m.connack_codes(c.connect(cid)), (0, 0), cid)

    def test_mqtt_3_1_3_5_longer_and_non_ascii_client_ids_are_accepted(self):
        for cid in ('x' * 200, 'cl\u00e9-\u6e2c\u8a66', 'with space/slash+hash#'):
            c = self.client()
            self.assertEqual(m.connack_codes(c.connect(cid)), (0, 0), cid)

    def test_client_id_of_65535_bytes_is_accepted(self):
        c = self.client()
        self.assertEqual(m.connack_codes(c.connect('i' * 65535, clean=False)), (0, 0))
        c.subscribe([('long/id', 1)])
        self.connected().publish('long/id', b'x', qos=1)
        self.assertEqual(self.receive(c, 1)[0].payload, b'x')

    def test_mqtt_3_1_3_6_zero_length_client_ids_get_distinct_sessions(self):
        a = self.connected('')
        b = self.connected('')
        a.subscribe([('zl/a', 0)])
        b.subscribe([('zl/b', 0)])
        pub = self.connected()
        pub.publish('zl/a', b'to a')
        pub.publish('zl/b', b'to b')
        self.assertEqual(a.recv_publish().payload, b'to a')
        self.assertEqual(b.recv_publish().payload, b'to b')

    def test_mqtt_3_1_3_8_zero_length_client_id_with_clean_session_0_gets_0x02_then_close(self):
        c = self.client()
        c.send(m.connect('', clean=False))
        pkts = self.assert_closed(c, allowed=(m.CONNACK,))
        self.assertEqual([p.body for p in pkts], [b'\x00\x02'])

    def test_mqtt_3_1_4_1_connect_not_conforming_closes_without_connack(self):
        bad = [
            connect_raw(payload=b'\x00\x05ab'),               # client id runs past the packet
            connect_raw(payload=b'\x00\x02\xc0\x80'),         # client id is not UTF-8
            connect_raw(payload=b'\x00\x01c\x00'),            # trailing byte
            connect_raw(flags=0x06, payload=b'\x00\x01c\x00\x03a/+\x00\x01x'),  # wildcard will
        ]
        for data in bad:
            c = self.client()
            c.send(data)
            self.assert_closed(c)
        self.assert_serving()

    def test_mqtt_3_1_4_2_same_client_id_disconnects_the_existing_client(self):
        first = self.connected('dup-id')
        self.connected('dup-id')
        self.assert_closed(first)

    def test_mqtt_3_1_4_2_take_over_of_a_persistent_session_keeps_it(self):
        first = self.connected('dup-persist', clean=False)
        first.subscribe([('dp/t', 1)])
        second = self.client()
        self.assertEqual(m.connack_codes(second.connect('dup-persist', clean=False)), (1, 0))
        self.assert_closed(first)
        self.connected().publish('dp/t', b'x', qos=1)
        self.assertEqual(self.receive(second, 1)[0].payload, b'x')

    def test_mqtt_3_1_2_6_take_over_of_a_clean_session_does_not_reuse_its_state(self):
        first = self.connected('dup-clean', clean=True)
        first.subscribe([('dc/t', 1), ('marker/end', 1)])
        second = self.client()
        self.assertEqual(m.connack_codes(second.connect('dup-clean', clean=False)), (0, 0))
        self.assert_closed(first)
        second.subscribe([('marker/end', 1)])
        pub = self.connected()
        pub.publish('dc/t', b'old subscription', qos=1)
        self.assertEqual(self.publishes_before_marker(second, pub), [])

    def test_mqtt_3_1_4_5_data_after_a_refused_connect_is_not_processed(self):
        sub = self.subscribed([('refused/pub', 0), ('marker/end', 1)])
        c = self.client()
        c.send(m.connect('', clean=False) + m.publish('refused/pub', b'must not route'))
        self.assert_closed(c, allowed=(m.CONNACK,))
        self.assertEqual(self.publishes_before_marker(sub, self.connected()), [])

    def test_mqtt_3_2_0_1_connack_is_the_first_packet_even_for_pipelined_packets(self):
        # Ids chosen so that with several shards some CONNECTs are handed to another shard with
        # the bytes after them: the hand-off must keep the pipelined packets and their order.
        for i in range(8):
            c = self.client()
            c.send(m.connect('pipe-%d' % i) + m.subscribe(1, [('pipe/%d' % i, 1)]) +
                   m.publish('pipe/%d' % i, b'self', qos=1, pid=2) + m.PING)
            self.assertEqual(m.connack_codes(c.expect(m.CONNACK)), (0, 0))
            self.assertEqual(c.expect(m.SUBACK).body, b'\x00\x01\x01')
            kinds = sorted(p.type for p in (c.recv(), c.recv(), c.recv()))
            self.assertEqual(kinds, sorted([m.PUBLISH, m.PUBACK, m.PINGRESP]))

    def test_mqtt_3_2_2_1_session_present_0_with_clean_session_1_even_if_a_session_existed(self):
        c = self.connected('sp-clean', clean=False)
        c.subscribe([('sp/x', 1)])
        c.close()
        c2 = self.client()
        self.assertEqual(m.connack_codes(c2.connect('sp-clean', clean=True)), (0, 0))

    def test_mqtt_3_2_2_2_session_present_1_when_a_stored_session_is_resumed(self):
        c = self.connected('sp-resume', clean=False)
        c.close()
        c2 = self.client()
        self.assertEqual(m.connack_codes(c2.connect('sp-resume', clean=False)), (1, 0))

    def test_mqtt_3_2_2_3_session_present_0_when_no_session_is_stored(self):
        c = self.client()
        self.assertEqual(m.connack_codes(c.connect('sp-none', clean=False)), (0, 0))

    def test_mqtt_3_2_2_4_session_present_0_with_a_nonzero_return_code(self):
        c = self.client()
        c.send(connect_raw(level=3))
        pkts = self.assert_closed(c, allowed=(m.CONNACK,))
        self.assertEqual(pkts[0].body[0], 0)

    def test_mqtt_3_2_2_5_connack_flags_reserved_bits_are_0_and_length_is_2(self):
        c = self.client()
        connack = c.connect('flags')
        self.assertEqual((connack.flags, len(connack.body), connack.body[0] & 0xFE), (0, 2, 0))

class MaxKeepaliveTest(ConformanceTest):
    broker_flags = {'max-keepalive': 30}

    @mosquitto_deviates('2.0.11 accepts keep-alive above max_keepalive from 3.1.1 clients')
    def test_keepalive_above_max_keepalive_is_refused_with_0x02_in_3_1_1(self):
        # telemq choice (docs/mqtt_conformance.md): 3.1.1 cannot tell the client another value.
        c = self.client()
        c.send(m.connect('ka-too-long', keepalive=31))
        pkts = self.assert_closed(c, allowed=(m.CONNACK,))
        self.assertEqual([p.body for p in pkts], [b'\x00\x02'])
        self.assertEqual(m.connack_codes(self.client().connect('ka-ok', keepalive=30)), (0, 0))


class PingTest(ConformanceTest):
    def test_mqtt_3_12_4_1_pingreq_gets_pingresp(self):
        c = self.connected()
        for _ in range(3):
            c.send(m.PING)
            pkt = c.expect(m.PINGRESP)
            self.assertEqual((pkt.flags, pkt.body), (0, b''))


if __name__ == '__main__':
    unittest.main()
