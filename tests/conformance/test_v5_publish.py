"""MQTT 5.0 PUBLISH: acknowledgements with reason codes, properties forwarded, topic aliases,
flow control in both directions, Maximum Packet Size, message expiry, payload format,
request/response, reason strings (sections 3.3-3.7, 4.3, 4.9, 4.10, 4.13)."""
import time
import unittest

from support import (ConformanceTest, V5, ack_properties, connack_property, disconnect_reason,
                     m, mosquitto_deviates, reason_of, telemq_only)


def wait_broker_clock(seconds):
    """Lets time pass on the broker's clock: the rule under test is about elapsed time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(deadline - time.monotonic())


class AckTest(ConformanceTest):
    def test_mqtt_3_4_2_puback_reason_is_success_or_no_matching_subscribers(self):
        c, _ = self.v5_connected()
        [puback] = c.publish('nobody', b'x', qos=1)
        self.assertIn(reason_of(puback), (0x00, 0x10))
        self.subscribed([('somebody', 1)], version=V5)
        [puback] = c.publish('somebody', b'x', qos=1, pid=2)
        self.assertEqual(reason_of(puback), 0x00)

    @telemq_only('0x92 is allowed, not required; Mosquitto answers 0x00')
    def test_mqtt_4_3_3_pubrel_for_an_unknown_id_gets_pubcomp_0x92(self):
        c, _ = self.v5_connected()
        c.send(m.ack(m.PUBREL, 42))
        comp = c.expect(m.PUBCOMP)
        self.assertEqual((comp.pid, reason_of(comp)), (42, 0x92))

    @telemq_only('0x92 is allowed, not required; Mosquitto answers 0x00')
    def test_mqtt_4_3_3_pubrec_for_an_unknown_id_gets_pubrel_0x92(self):
        c, _ = self.v5_connected()
        c.send(m.ack(m.PUBREC, 43))
        rel = c.expect(m.PUBREL)
        self.assertEqual((rel.pid, rel.flags, reason_of(rel)), (43, 2, 0x92))

    def test_mqtt_4_3_3_pubrec_with_an_error_reason_ends_the_qos2_flow(self):
        sub, _ = self.v5_connected('pubrec-err', properties=[(m.RECEIVE_MAXIMUM, 1)])
        sub.subscribe([('rec/err', 2)])
        pub = self.connected(version=V5)
        pub.publish('rec/err', b'refused', qos=2)
        pub.publish('rec/err', b'next', qos=2, pid=2)
        first = sub.recv_publish()
        sub.send(m.packet(m.PUBREC, 0, first.pid.to_bytes(2, 'big') + b'\x80'))
        # No PUBREL for it, and its Receive Maximum slot is free for the next message.
        nxt = sub.recv_publish()
        self.assertEqual(nxt.payload, b'next')

    def test_mqtt_4_4_0_1_no_resend_while_the_connection_stays_up(self):
        sub = self.subscribed([('v5/noresend', 1)], version=V5)
        self.connected(version=V5).publish('v5/noresend', b'x', qos=1)
        sub.recv_publish()
        self.assert_silent(sub)


class ClientPropertiesAcceptedTest(ConformanceTest):
    def test_reason_strings_and_user_properties_from_the_client_are_accepted(self):
        sub, _ = self.v5_connected('props-in')
        user = [(m.USER_PROPERTY, ('k', 'v')), (m.REASON_STRING, 'because')]
        sub.subscribe([('pi/t', 2)], properties=[(m.USER_PROPERTY, ('s', '1'))])
        pub, _ = self.v5_connected()
        pub.publish('pi/t', b'1', qos=1)
        pub.publish('pi/t', b'2', qos=2, pid=2)
        one, two = sub.recv_publish(), sub.recv_publish()
        sub.send(m.packet(m.PUBACK, 0, one.pid.to_bytes(2, 'big') + b'\x00' + m.props(user)))
        sub.send(m.packet(m.PUBREC, 0, two.pid.to_bytes(2, 'big') + b'\x00' + m.props(user)))
        self.assertEqual(sub.expect(m.PUBREL).pid, two.pid)
        sub.send(m.packet(m.PUBCOMP, 0, two.pid.to_bytes(2, 'big') + b'\x00' + m.props(user)))
        sub.send(m.packet(m.UNSUBSCRIBE, 2, b'\x00\x07' + m.props([(m.USER_PROPERTY, ('u', '2'))])
                          + m.utf8('pi/t')))
        self.assertEqual(sub.expect(m.UNSUBACK).pid, 7)
        sub.ping()
        sub.send(m.disconnect(V5, 0, [(m.USER_PROPERTY, ('bye', 'now')), (m.REASON_STRING, 'x')]))
        self.assert_closed(sub)


class ForwardedPropertiesTest(ConformanceTest):
    def test_mqtt_3_3_2_17_and_18_user_properties_forwarded_unaltered_in_order(self):
        sub = self.subscribed([('fw/user', 2)], version=V5)
        pub, _ = self.v5_connected()
        props = [(m.USER_PROPERTY, ('z', '1')), (m.USER_PROPERTY, ('a', '2')),
                 (m.USER_PROPERTY, ('z', '0')), (m.USER_PROPERTY, ('', '')),
                 (m.USER_PROPERTY, ('k\u00e9', 'v\u6e2c'))]
        for qos in (0, 1, 2):
            pub.publish('fw/user', b'', qos=qos, pid=qos + 1, properties=props)
            msg = self.receive(sub, 1)[0]
            self.assertEqual([v for k, v in msg.properties if k == m.USER_PROPERTY],
                             [v for _, v in props], 'QoS %d' % qos)

    def test_mqtt_3_3_2_4_payload_format_and_content_type_forwarded(self):
        sub = self.subscribed([('fw/pfi', 1)], version=V5)
        pub, _ = self.v5_connected()
        pub.publish('fw/pfi', b'text', qos=1,
                    properties=[(m.PAYLOAD_FORMAT, 1), (m.CONTENT_TYPE, 'My name')])
        msg = sub.recv_publish()
        self.assertEqual((msg.prop(m.PAYLOAD_FORMAT), msg.prop(m.CONTENT_TYPE)), (1, 'My name'))

    def test_mqtt_3_3_2_15_and_16_response_topic_and_correlation_data_forwarded(self):
        responder = self.subscribed([('svc/request', 1)], version=V5, client_id='responder')
        requester = self.subscribed([('svc/reply/42', 1)], version=V5, client_id='requester')
        requester.publish('svc/request', b'ping', qos=1,
                          properties=[(m.RESPONSE_TOPIC, 'svc/reply/42'),
                                      (m.CORRELATION_DATA, b'\x00corr\xff')])
        req = self.receive(responder, 1)[0]
        self.assertEqual((req.prop(m.RESPONSE_TOPIC), req.prop(m.CORRELATION_DATA)),
                         ('svc/reply/42', b'\x00corr\xff'))
        responder.publish(req.prop(m.RESPONSE_TOPIC), b'pong', qos=1, pid=2,
                          properties=[(m.CORRELATION_DATA, req.prop(m.CORRELATION_DATA))])
        resp = self.receive(requester, 1)[0]
        self.assertEqual((resp.payload, resp.prop(m.CORRELATION_DATA)), (b'pong', b'\x00corr\xff'))

    def test_properties_of_a_retained_message_are_kept(self):
        pub, _ = self.v5_connected()
        pub.publish('fw/retained', b'r', qos=1, retain=True,
                    properties=[(m.USER_PROPERTY, ('a', '2')), (m.USER_PROPERTY, ('c', '3')),
                                (m.CONTENT_TYPE, 'ct')])
        sub, _ = self.v5_connected()
        sub.subscribe([('fw/retained', 1)])
        msg = sub.recv_publish()
        self.assertEqual([v for k, v in msg.properties if k == m.USER_PROPERTY],
                         [('a', '2'), ('c', '3')])
        self.assertEqual(msg.prop(m.CONTENT_TYPE), 'ct')

    @mosquitto_deviates('2.0.11 accepts a Subscription Identifier from a client')
    def test_mqtt_3_3_4_6_subscription_identifier_in_a_client_publish_is_a_protocol_error(self):
        c, _ = self.v5_connected()
        c.send(m.publish('t', b'x', version=V5, properties=[(m.SUBSCRIPTION_ID, 5)]))
        self.assert_disconnected_with(c, (0x81, 0x82))


class PayloadFormatTest(ConformanceTest):
    @telemq_only('checking the payload format is optional (MAY); Mosquitto does not')
    def test_payload_format_1_with_a_non_utf8_payload_is_refused_with_0x99(self):
        c, _ = self.v5_connected()
        c.send(m.publish('pfi/bad', b'\xff', qos=1, version=V5, properties=[(m.PAYLOAD_FORMAT, 1)]))
        pkt = c.recv()
        if pkt.type == m.PUBACK:
            self.assertEqual(reason_of(pkt), 0x99)
        else:
            self.assertEqual((pkt.type, pkt.body[:1]), (m.DISCONNECT, b'\x99'))

    def test_payload_format_0_allows_any_bytes(self):
        sub = self.subscribed([('pfi/bin', 1)], version=V5)
        pub, _ = self.v5_connected()
        pub.publish('pfi/bin', b'\xff\x00', qos=1, properties=[(m.PAYLOAD_FORMAT, 0)])
        self.assertEqual(sub.recv_publish().payload, b'\xff\x00')


class TopicAliasTest(ConformanceTest):
    def test_mqtt_3_3_2_7_alias_set_then_used_with_an_empty_topic(self):
        sub = self.subscribed([('ta/#', 1)], version=V5)
        pub, connack = self.v5_connected()
        self.assertGreaterEqual(connack_property(connack, m.TOPIC_ALIAS_MAX, 0), 2)
        pub.publish('ta/one', b'1', qos=1, properties=[(m.TOPIC_ALIAS, 1)])
        pub.publish('', b'2', qos=1, pid=2, properties=[(m.TOPIC_ALIAS, 1)])
        pub.publish('ta/two', b'3', qos=1, pid=3, properties=[(m.TOPIC_ALIAS, 1)])  # remapped
        pub.publish('', b'4', qos=1, pid=4, properties=[(m.TOPIC_ALIAS, 1)])
        pub.publish('ta/three', b'5', qos=1, pid=5, properties=[(m.TOPIC_ALIAS, 2)])
        pub.publish('', b'6', qos=1, pid=6, properties=[(m.TOPIC_ALIAS, 1)])
        got = self.receive(sub, 6)
        self.assertEqual([(p.topic, p.payload) for p in got],
                         [('ta/one', b'1'), ('ta/one', b'2'), ('ta/two', b'3'), ('ta/two', b'4'),
                          ('ta/three', b'5'), ('ta/two', b'6')])
        # The publisher's alias is its own: subscribers get no Topic Alias they did not allow.
        self.assertTrue(all(p.prop(m.TOPIC_ALIAS) is None for p in got))

    def test_mqtt_3_3_2_8_topic_alias_0_gets_disconnect_0x94(self):
        c, _ = self.v5_connected()
        c.send(m.publish('ta/zero', b'x', version=V5, properties=[(m.TOPIC_ALIAS, 0)]))
        self.assert_disconnected_with(c, (0x94, 0x81, 0x82))  # Mosquitto: 0x81

    def test_mqtt_3_3_2_10_alias_above_the_maximum_gets_disconnect_0x94(self):
        c, connack = self.v5_connected()
        limit = connack_property(connack, m.TOPIC_ALIAS_MAX, 0)
        c.send(m.publish('ta/big', b'x', version=V5, properties=[(m.TOPIC_ALIAS, limit + 1)]))
        self.assert_disconnected_with(c, 0x94)

    def test_empty_topic_with_an_unknown_alias_is_a_protocol_error(self):
        c, _ = self.v5_connected()
        c.send(m.publish('', b'x', version=V5, properties=[(m.TOPIC_ALIAS, 3)]))
        self.assert_disconnected_with(c, (0x82, 0x94))

    def test_empty_topic_without_an_alias_is_a_protocol_error(self):
        c, _ = self.v5_connected()
        c.send(m.publish('', b'x', version=V5))
        self.assert_disconnected_with(c, (0x81, 0x82))

    def test_mqtt_3_3_2_7_aliases_do_not_carry_over_to_a_new_connection(self):
        c, _ = self.v5_connected('ta-carry', properties=[(m.SESSION_EXPIRY, 60)])
        c.publish('ta/carry', b'1', qos=1, properties=[(m.TOPIC_ALIAS, 1)])
        c.send(m.disconnect(V5))
        self.assert_closed(c)
        c2 = self.client(V5)
        c2.connect('ta-carry', clean=False, properties=[(m.SESSION_EXPIRY, 60)])
        c2.send(m.publish('', b'2', version=V5, properties=[(m.TOPIC_ALIAS, 1)]))
        self.assert_disconnected_with(c2, (0x82, 0x94))

    def test_server_sends_no_topic_alias_to_a_client_that_allows_none(self):
        sub = self.subscribed([('ta/none', 0)], version=V5)
        pub, _ = self.v5_connected()
        for i in range(3):
            pub.publish('ta/none', b'%d' % i)
        self.assertTrue(all(sub.recv_publish().prop(m.TOPIC_ALIAS) is None for _ in range(3)))

    def test_mqtt_3_3_2_11_server_topic_aliases_stay_within_the_client_maximum(self):
        sub, _ = self.v5_connected('ta-server', properties=[(m.TOPIC_ALIAS_MAX, 2)])
        sub.subscribe([('ta/s/#', 0)])
        pub, _ = self.v5_connected()
        topics = ['ta/s/a', 'ta/s/b', 'ta/s/c', 'ta/s/a', 'ta/s/b', 'ta/s/c', 'ta/s/a']
        for t in topics:
            pub.publish(t, b'')
        known = {}
        for expected in topics:
            msg = sub.recv_publish()
            alias = msg.prop(m.TOPIC_ALIAS)
            if alias is not None:
                self.assertIn(alias, (1, 2))
                if msg.topic:
                    known[alias] = msg.topic
                topic = msg.topic or known.get(alias)
            else:
                topic = msg.topic
            self.assertEqual(topic, expected)


class ReceiveMaximumTest(ConformanceTest):
    def test_mqtt_3_3_4_9_server_sends_no_more_than_the_client_receive_maximum(self):
        sub, _ = self.v5_connected('rm-2', properties=[(m.RECEIVE_MAXIMUM, 2)])
        sub.subscribe([('rm/t', 2)])
        pub, _ = self.v5_connected()
        pub.publish('rm/t', b'1', qos=1)
        pub.publish('rm/t', b'2', qos=2, pid=2)
        pub.publish('rm/t', b'3', qos=1, pid=3)
        first, second = sub.recv_publish(), sub.recv_publish()
        self.assert_silent(sub)  # two unacknowledged: the third waits
        sub.send(m.ack(m.PUBACK, first.pid))
        third = sub.recv_publish()
        self.assertEqual(third.payload, b'3')
        # A QoS 2 message counts until its PUBCOMP, not its PUBREC.
        sub.send(m.ack(m.PUBACK, third.pid))
        sub.send(m.ack(m.PUBREC, second.pid))
        sub.expect(m.PUBREL)
        pub.publish('rm/t', b'4', qos=1, pid=4)
        pub.publish('rm/t', b'5', qos=1, pid=5)
        fourth = sub.recv_publish()
        self.assertEqual(fourth.payload, b'4')
        self.assert_silent(sub)
        sub.send(m.ack(m.PUBCOMP, second.pid))
        self.assertEqual(sub.recv_publish().payload, b'5')

    @mosquitto_deviates('2.0.11 resends every in-flight message whatever the Receive Maximum')
    def test_mqtt_4_9_0_2_resend_after_reconnect_honours_the_new_receive_maximum(self):
        # The send quota starts again at each connection's Receive Maximum; resent PUBLISHes
        # use it, the rest follow as acknowledgements come, before new messages.
        sub, _ = self.v5_connected('rm-re', properties=[(m.SESSION_EXPIRY, 60),
                                                        (m.RECEIVE_MAXIMUM, 10)])
        sub.subscribe([('rm/re', 1)])
        pub, _ = self.v5_connected()
        for i in range(4):
            pub.publish('rm/re', b'%d' % i, qos=1, pid=i + 1)
        [sub.recv_publish() for _ in range(4)]
        sub.close()
        sub = self.client(V5)
        sub.connect('rm-re', clean=False, properties=[(m.SESSION_EXPIRY, 60),
                                                      (m.RECEIVE_MAXIMUM, 2)])
        first = [sub.recv_publish() for _ in range(2)]
        pub.publish('rm/re', b'new', qos=1, pid=9)
        self.assert_silent(sub)
        got = []
        for msg in first:
            sub.send(m.ack(m.PUBACK, msg.pid))
        while len(got) < 3:
            msg = sub.recv_publish()
            got.append((msg.payload, msg.dup))
            sub.send(m.ack(m.PUBACK, msg.pid))
        self.assertEqual([(p.payload, p.dup) for p in first], [(b'0', True), (b'1', True)])
        self.assertEqual(got, [(b'2', True), (b'3', True), (b'new', False)])

    def test_qos0_is_not_limited_by_the_receive_maximum(self):
        sub, _ = self.v5_connected('rm-q0', properties=[(m.RECEIVE_MAXIMUM, 1)])
        sub.subscribe([('rm/q0', 1)])
        pub, _ = self.v5_connected()
        pub.publish('rm/q0', b'held', qos=1)
        for i in range(5):
            pub.publish('rm/q0', b'%d' % i, qos=0)
        held = sub.recv_publish()
        self.assertEqual(held.qos, 1)
        self.assertEqual([sub.recv_publish().payload for _ in range(5)],
                         [b'0', b'1', b'2', b'3', b'4'])

    @telemq_only('the default of --receive-maximum')
    def test_mqtt_3_2_2_server_receive_maximum_is_announced(self):
        _, connack = self.v5_connected()
        self.assertEqual(connack_property(connack, m.RECEIVE_MAXIMUM), 1024)

    def limited_client(self, client_id):
        """A 5.0 client and the server's Receive Maximum; skips when none below 65535 is set."""
        c, connack = self.v5_connected(client_id)
        limit = connack_property(connack, m.RECEIVE_MAXIMUM, 65535)
        if limit >= 65535:
            self.skipTest('no Receive Maximum below 65535 announced')
        return c, limit

    @mosquitto_deviates('2.0.11 does not enforce the Receive Maximum it announces')
    def test_mqtt_3_3_4_8_more_unacknowledged_qos2_than_the_server_receive_maximum_is_0x93(self):
        c, limit = self.limited_client('rm-server')
        c.send(b''.join(m.publish('rm/server', b'x', qos=2, pid=i, version=V5)
                        for i in range(1, limit + 1)))
        for _ in range(limit):
            c.expect(m.PUBREC)
        c.send(m.publish('rm/server', b'x', qos=2, pid=limit + 1, version=V5))
        self.assert_disconnected_with(c, 0x93)

    @mosquitto_deviates('2.0.11 does not enforce the Receive Maximum it announces')
    def test_a_client_still_releasing_when_disconnected_for_0x93_reads_the_reason_code(self):
        # Paho's test_flow_control2: one QoS 2 PUBLISH past the Receive Maximum, then a PUBREL
        # for each PUBREC read until the DISCONNECT. The PUBRELs keep coming after the broker has
        # decided to close: it must take them (a close with input unread, or arriving after
        # close(), resets the connection, and the client's next send fails before it has read
        # the reason code) and end the stream with a FIN.
        c, limit = self.limited_client('rm-linger')
        c.send(b''.join(m.publish('rm/linger', b'x', qos=2, pid=i, version=V5)
                        for i in range(1, limit + 2)))
        pubrecs = 0
        pkt = c.recv()
        while pkt.type == m.PUBREC:
            pubrecs += 1
            c.send(m.ack(m.PUBREL, pkt.pid))  # raises if the broker reset the connection
            pkt = c.recv()
        self.assertEqual(pubrecs, limit)
        self.assertEqual((pkt.type, disconnect_reason(pkt)), (m.DISCONNECT, 0x93))
        c.sock.settimeout(3.0)
        self.assertEqual(c.sock.recv(1), b'', 'an orderly close (FIN), not a reset')

    def test_releasing_qos2_messages_frees_the_server_receive_window(self):
        c, connack = self.v5_connected('rm-release')
        limit = connack_property(connack, m.RECEIVE_MAXIMUM, 65535)
        n = min(limit, 2000)
        for rnd in range(3):
            c.send(b''.join(m.publish('rm/rel', b'x', qos=2, pid=i, version=V5)
                            for i in range(1, n + 1)))
            for _ in range(n):
                c.expect(m.PUBREC)
            c.send(b''.join(m.ack(m.PUBREL, i) for i in range(1, n + 1)))
            for _ in range(n):
                c.expect(m.PUBCOMP)
        c.ping()


@telemq_only('--receive-maximum is a telemq setting')
class ConfiguredReceiveMaximumTest(ConformanceTest):
    broker_flags = {'receive-maximum': 3}

    def test_receive_maximum_setting_is_announced_and_enforced(self):
        c, connack = self.v5_connected('rm-3')
        self.assertEqual(connack_property(connack, m.RECEIVE_MAXIMUM), 3)
        for pid in (1, 2, 3):
            c.send(m.publish('rm/3', b'x', qos=2, pid=pid, version=V5))
            c.expect(m.PUBREC)
        c.send(m.ack(m.PUBREL, 2))
        c.expect(m.PUBCOMP)
        c.send(m.publish('rm/3', b'x', qos=2, pid=4, version=V5))  # 3 unreleased again
        c.expect(m.PUBREC)
        c.send(m.publish('rm/3', b'x', qos=2, pid=5, version=V5))
        self.assert_disconnected_with(c, 0x93)

    def test_3_1_1_clients_have_no_receive_maximum(self):
        c = self.connected('rm-311')
        for pid in range(1, 11):
            c.send(m.publish('rm/311', b'x', qos=2, pid=pid))
            c.expect(m.PUBREC)


class MaximumPacketSizeTest(ConformanceTest):
    def test_mqtt_3_1_2_24_and_25_message_too_large_for_the_client_is_not_sent(self):
        sub, _ = self.v5_connected('mps', properties=[(m.MAXIMUM_PACKET_SIZE, 64)])
        sub.subscribe([('mps/t', 1)])
        pub, _ = self.v5_connected()
        pub.publish('mps/t', b'.' * 32, qos=1)
        pub.publish('mps/t', b'.' * 64, qos=1, pid=2)  # over 64 bytes as a packet
        pub.publish('mps/t', b'small', qos=1, pid=3)
        got = self.receive(sub, 2)
        self.assertEqual([p.payload for p in got], [b'.' * 32, b'small'])

    @mosquitto_deviates('2.0.11 keeps a dropped oversized message in the in-flight window')
    def test_dropped_oversized_messages_do_not_use_up_the_receive_window(self):
        sub, _ = self.v5_connected('mps-rm', properties=[(m.MAXIMUM_PACKET_SIZE, 64),
                                                         (m.RECEIVE_MAXIMUM, 1)])
        sub.subscribe([('mps/rm', 1)])
        pub, _ = self.v5_connected()
        for i in range(3):
            pub.publish('mps/rm', b'.' * 100, qos=1, pid=i + 1)
        pub.publish('mps/rm', b'fits', qos=1, pid=9)
        self.assertEqual(sub.recv_publish().payload, b'fits')


@telemq_only('--max-packet-size is announced in CONNACK')
class ServerMaximumPacketSizeTest(ConformanceTest):
    broker_flags = {'max-packet-size': 1024}

    def test_mqtt_3_2_2_publish_over_the_announced_maximum_gets_disconnect_0x95(self):
        c, connack = self.v5_connected()
        limit = connack_property(connack, m.MAXIMUM_PACKET_SIZE)
        self.assertEqual(limit, 1024)
        c.publish('mps/ok', b'.' * (limit - 20), qos=1)
        c.send(m.publish('mps/big', b'.' * limit, qos=1, version=V5))
        self.assert_disconnected_with(c, 0x95)


@telemq_only('--max-packet-size sets the exact limit')
class ExactMaximumPacketSizeTest(ConformanceTest):
    broker_flags = {'max-packet-size': 200}

    def test_packet_of_exactly_the_maximum_size_is_accepted_one_more_byte_is_not(self):
        def sized(total):
            n = next(n for n in range(total) if len(self.packet(n + 1)) > total)
            pkt = self.packet(n)
            self.assertEqual(len(pkt), total)
            return pkt

        c, _ = self.v5_connected()
        c.send(sized(200))
        c.expect(m.PUBACK)
        c.send(sized(201))
        self.assert_disconnected_with(c, 0x95)

    @staticmethod
    def packet(payload_size):
        return m.publish('mps/exact', b'.' * payload_size, qos=1, version=V5)


class MessageExpiryTest(ConformanceTest):
    def offline_subscriber(self, client_id, topic):
        c, _ = self.v5_connected(client_id, properties=[(m.SESSION_EXPIRY, 60)])
        c.subscribe([(topic, 2), ('marker/end', 1)])
        c.send(m.disconnect(V5))
        self.assert_closed(c)

    def resume(self, client_id):
        c = self.client(V5)
        connack = c.connect(client_id, clean=False, properties=[(m.SESSION_EXPIRY, 60)])
        self.assertEqual(m.connack_codes(connack), (1, 0))
        return c

    def test_mqtt_3_3_2_5_expired_queued_messages_are_not_delivered(self):
        self.offline_subscriber('exp-q', 'exp/q')
        pub, _ = self.v5_connected()
        pub.publish('exp/q', b'qos1 expire', qos=1, properties=[(m.MESSAGE_EXPIRY, 1)])
        pub.publish('exp/q', b'qos2 expire', qos=2, pid=2, properties=[(m.MESSAGE_EXPIRY, 1)])
        pub.publish('exp/q', b'qos1 keep', qos=1, pid=3, properties=[(m.MESSAGE_EXPIRY, 60)])
        pub.publish('exp/q', b'qos2 keep', qos=2, pid=4, properties=[(m.MESSAGE_EXPIRY, 60)])
        pub.publish('exp/q', b'no expiry', qos=1, pid=5)
        wait_broker_clock(2.2)
        c = self.resume('exp-q')
        got = self.publishes_before_marker(c, pub)
        self.assertEqual([p.payload for p in got], [b'qos1 keep', b'qos2 keep', b'no expiry'])
        # MQTT-3.3.2-6: the interval sent is the received one minus the time waited.
        self.assertTrue(all(p.prop(m.MESSAGE_EXPIRY) <= 58 for p in got[:2]), got)
        self.assertIsNone(got[2].prop(m.MESSAGE_EXPIRY))

    def test_mqtt_3_3_2_6_live_delivery_carries_the_remaining_interval(self):
        sub = self.subscribed([('exp/live', 0)], version=V5)
        self.connected(version=V5).publish('exp/live', b'x',
                                           properties=[(m.MESSAGE_EXPIRY, 60)])
        self.assertIn(sub.recv_publish().prop(m.MESSAGE_EXPIRY), (59, 60))

    def test_expired_retained_message_is_not_sent_to_new_subscribers(self):
        pub, _ = self.v5_connected()
        pub.publish('exp/r/a', b'short', qos=1, retain=True, properties=[(m.MESSAGE_EXPIRY, 1)])
        pub.publish('exp/r/b', b'long', qos=1, pid=2, retain=True,
                    properties=[(m.MESSAGE_EXPIRY, 60)])
        wait_broker_clock(2.2)
        sub, _ = self.v5_connected()
        sub.subscribe([('exp/r/#', 1), ('marker/end', 1)])
        got = self.publishes_before_marker(sub, pub)
        self.assertEqual([p.payload for p in got], [b'long'])
        self.assertLessEqual(got[0].prop(m.MESSAGE_EXPIRY), 58)


class ReasonStringTest(ConformanceTest):
    def test_mqtt_3_1_2_29_no_reason_string_or_user_property_when_problem_info_is_0(self):
        c, _ = self.v5_connected('rpi-0', properties=[(0x17, 0)])
        c.send(m.ack(m.PUBREL, 9))
        comp = c.expect(m.PUBCOMP)
        c.send(m.ack(m.PUBREC, 9))
        rel = c.expect(m.PUBREL)
        c.send(m.unsubscribe(3, ['none'], version=V5))
        unsuback = c.expect(m.UNSUBACK)
        c.send(m.subscribe(4, [('a', 1)], version=V5))
        suback = c.expect(m.SUBACK)
        for pkt in (comp, rel):
            self.assertTrue(all(k not in (m.REASON_STRING, m.USER_PROPERTY)
                                for k, _ in ack_properties(pkt)), pkt)
        for pkt in (unsuback, suback):
            self.assertEqual(m.parse_props(pkt.body, 2)[0], [], pkt)


if __name__ == '__main__':
    unittest.main()
