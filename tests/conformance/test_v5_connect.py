"""MQTT 5.0 connections and sessions: CONNECT/CONNACK properties, Clean Start and Session Expiry,
keep-alive and Server Keep Alive, take-over, DISCONNECT, wills and Will Delay (sections 3.1, 3.2,
3.14, 4.1, 4.13)."""
import time
import unittest

from support import (ConformanceTest, IS_MOSQUITTO, V5, connack_properties, connack_property,
                     disconnect_reason, m, mosquitto_deviates, telemq_only)


def wait_broker_clock(seconds):
    """Lets time pass on the broker's clock: the rule under test is about elapsed time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(deadline - time.monotonic())


def will(topic, payload=b'gone', qos=0, retain=False, properties=()):
    return {'topic': topic, 'payload': payload, 'qos': qos, 'retain': retain,
            'properties': properties}


class ConnackTest(ConformanceTest):
    def test_mqtt_3_2_2_connack_success_and_session_present_0_for_a_new_session(self):
        c = self.client(V5)
        connack = c.connect('v5-new')
        self.assertEqual((connack.flags, connack.body[0], connack.body[1]), (0, 0, 0))

    def test_mqtt_3_2_2_connack_properties_are_valid_and_announce_the_limits(self):
        _, connack = self.v5_connected('v5-props')
        props = connack_properties(connack)
        ids = [k for k, _ in props]
        self.assertEqual(len(ids), len(set(ids)), 'a property repeated: %r' % props)
        d = dict(props)
        # Absent means "supported" / "no limit"; present must carry a legal value.
        self.assertIn(d.get(m.MAXIMUM_QOS, 2), (0, 1, 2))
        self.assertIn(d.get(m.RETAIN_AVAILABLE, 1), (0, 1))
        self.assertGreater(d.get(m.RECEIVE_MAXIMUM, 65535), 0)
        self.assertGreater(d.get(m.MAXIMUM_PACKET_SIZE, 1 << 28), 0)
        self.assertNotIn(m.ASSIGNED_CLIENT_ID, d)  # the client gave an id
        self.assertNotIn(m.REASON_STRING, d)

    @telemq_only('telemq announces these values')
    def test_connack_announces_the_topic_alias_and_packet_size_limits(self):
        _, connack = self.v5_connected('v5-limits')
        d = dict(connack_properties(connack))
        self.assertEqual(d.get(m.TOPIC_ALIAS_MAX), 64)
        self.assertEqual(d.get(m.MAXIMUM_PACKET_SIZE), 1 << 20)

    def test_mqtt_3_1_3_7_and_3_2_2_16_zero_length_id_gets_an_assigned_client_identifier(self):
        for clean in (True, False):
            c = self.client(V5)
            connack = c.connect('', clean=clean)
            self.assertEqual(connack.body[:2], b'\x00\x00')
            assigned = connack_property(connack, m.ASSIGNED_CLIENT_ID)
            self.assertTrue(assigned, 'no Assigned Client Identifier (clean=%s)' % clean)

    def test_assigned_client_identifiers_are_unique(self):
        ids = set()
        for _ in range(5):
            c = self.client(V5)
            ids.add(connack_property(c.connect(''), m.ASSIGNED_CLIENT_ID))
        self.assertEqual(len(ids), 5)

    def test_mqtt_3_1_4_3_unsupported_authentication_method_gets_0x8c_then_close(self):
        c = self.client(V5)
        c.send(m.connect('auth', version=V5, properties=[(m.AUTH_METHOD, 'SCRAM-SHA-1')]))
        pkts = self.assert_closed(c, allowed=(m.CONNACK,))
        self.assertEqual(len(pkts), 1)
        self.assertIn(pkts[0].body[1], (0x8C, 0x87))

    def test_mqtt_3_1_4_1_malformed_v5_connect_gets_connack_0x81_or_0x82_then_close(self):
        c = self.client(V5)
        # Receive Maximum 0 is a Protocol Error; a repeated property is one too.
        c.send(m.connect('bad-props', version=V5, properties=[(m.RECEIVE_MAXIMUM, 0)]))
        pkts = self.assert_closed(c, allowed=(m.CONNACK,))
        self.assertTrue(all(p.body[1] in (0x81, 0x82) for p in pkts), pkts)

    @telemq_only('checking the will payload format is optional (MAY); Mosquitto does not')
    def test_will_with_payload_format_1_and_a_non_utf8_payload_is_refused_0x99(self):
        c = self.client(V5)
        c.send(m.connect('bad-will', version=V5,
                         will=will('w/pfi', b'\xff\xfe', properties=[(m.PAYLOAD_FORMAT, 1)])))
        pkts = self.assert_closed(c, allowed=(m.CONNACK,))
        self.assertEqual([p.body[1] for p in pkts], [0x99])


class SessionExpiryTest(ConformanceTest):
    def disconnect(self, c, properties=()):
        c.send(m.disconnect(V5, properties=properties))
        self.assert_closed(c)

    def resume(self, client_id, expiry=60):
        c = self.client(V5)
        connack = c.connect(client_id, clean=False, properties=[(m.SESSION_EXPIRY, expiry)])
        self.assertEqual(connack.body[1], 0)
        return c, connack.body[0] & 1

    def test_mqtt_3_1_2_4_clean_start_1_discards_an_existing_session(self):
        c, _ = self.v5_connected('v5-clean', properties=[(m.SESSION_EXPIRY, 60)])
        self.disconnect(c)
        c2 = self.client(V5)
        self.assertEqual(m.connack_codes(c2.connect('v5-clean', clean=True,
                                                    properties=[(m.SESSION_EXPIRY, 60)])), (0, 0))

    def test_mqtt_3_1_2_5_clean_start_0_resumes_a_session_and_sets_session_present(self):
        c, _ = self.v5_connected('v5-resume', properties=[(m.SESSION_EXPIRY, 60)])
        c.subscribe([('v5/resume', 1)])
        self.disconnect(c)
        c2, present = self.resume('v5-resume')
        self.assertEqual(present, 1)
        self.connected(version=V5).publish('v5/resume', b'x', qos=1)
        self.assertEqual(self.receive(c2, 1)[0].payload, b'x')

    def test_mqtt_3_1_2_11_absent_session_expiry_ends_the_session_with_the_connection(self):
        c, _ = self.v5_connected('v5-noexp', clean=False)
        c.subscribe([('v5/noexp', 1)])
        self.disconnect(c)
        _, present = self.resume('v5-noexp')
        self.assertEqual(present, 0)

    def test_mqtt_3_1_2_23_session_kept_within_and_ended_after_its_expiry_interval(self):
        c, _ = self.v5_connected('v5-exp', properties=[(m.SESSION_EXPIRY, 2)])
        self.disconnect(c)
        c2, present = self.resume('v5-exp', expiry=2)
        self.assertEqual(present, 1)
        c2.close()
        wait_broker_clock(3.0)
        _, present = self.resume('v5-exp', expiry=2)
        self.assertEqual(present, 0)

    def test_mqtt_3_14_2_2_disconnect_may_change_a_nonzero_session_expiry(self):
        c, _ = self.v5_connected('v5-disc-exp', properties=[(m.SESSION_EXPIRY, 1)])
        self.disconnect(c, [(m.SESSION_EXPIRY, 30)])
        wait_broker_clock(2.0)
        _, present = self.resume('v5-disc-exp')
        self.assertEqual(present, 1)

    def test_disconnect_with_session_expiry_0_ends_the_session_at_once(self):
        c, _ = self.v5_connected('v5-disc-0', properties=[(m.SESSION_EXPIRY, 60)])
        self.disconnect(c, [(m.SESSION_EXPIRY, 0)])
        _, present = self.resume('v5-disc-0')
        self.assertEqual(present, 0)

    def test_mqtt_3_14_2_2_disconnect_setting_expiry_after_connect_with_0_is_a_protocol_error(self):
        c, _ = self.v5_connected('v5-disc-bad')
        c.send(m.disconnect(V5, properties=[(m.SESSION_EXPIRY, 30)]))
        pkts = self.assert_closed(c, allowed=(m.DISCONNECT,))
        self.assertTrue(all(disconnect_reason(p) == 0x82 for p in pkts), pkts)
        _, present = self.resume('v5-disc-bad')
        self.assertEqual(present, 0)

@telemq_only('--session-expiry-max is a telemq setting')
class SessionExpiryCapTest(ConformanceTest):
    broker_flags = {'session-expiry-max': 10}

    def test_mqtt_3_2_2_11_server_returns_the_session_expiry_it_uses(self):
        _, connack = self.v5_connected('v5-capped', properties=[(m.SESSION_EXPIRY, 1000)])
        self.assertEqual(connack_property(connack, m.SESSION_EXPIRY), 10)
        _, connack = self.v5_connected('v5-under', properties=[(m.SESSION_EXPIRY, 5)])
        self.assertIsNone(connack_property(connack, m.SESSION_EXPIRY))


class KeepAliveTest(ConformanceTest):
    @mosquitto_deviates('2.0.11 closes without DISCONNECT 0x8D')
    def test_mqtt_3_1_2_22_keepalive_expiry_sends_disconnect_0x8d_then_closes(self):
        c, _ = self.v5_connected('v5-ka', keepalive=1)
        start = time.monotonic()
        self.assert_disconnected_with(c, 0x8D, timeout=7.0 if IS_MOSQUITTO else 4.0)
        self.assertGreaterEqual(time.monotonic() - start, 1.0)

    def test_keepalive_0_turns_the_mechanism_off(self):
        c, _ = self.v5_connected('v5-ka0', keepalive=0)
        self.assert_silent(c, 2.0)
        c.ping()


class ServerKeepAliveTest(ConformanceTest):
    broker_flags = {'max-keepalive': 60}

    def test_mqtt_3_2_2_21_server_keep_alive_replaces_a_larger_client_keepalive(self):
        _, connack = self.v5_connected('v5-ska', keepalive=120)
        self.assertEqual(connack_property(connack, m.SERVER_KEEP_ALIVE), 60)

    def test_no_server_keep_alive_when_the_client_value_is_allowed(self):
        _, connack = self.v5_connected('v5-ska-ok', keepalive=30)
        self.assertIsNone(connack_property(connack, m.SERVER_KEEP_ALIVE))


@telemq_only('Mosquitto refuses max_keepalive below 10')
class ServerKeepAliveEnforcedTest(ConformanceTest):
    broker_flags = {'max-keepalive': 1}

    def test_mqtt_3_1_2_21_the_server_keep_alive_is_the_one_enforced(self):
        c, connack = self.v5_connected('v5-ska-1', keepalive=600)
        self.assertEqual(connack_property(connack, m.SERVER_KEEP_ALIVE), 1)
        self.assert_disconnected_with(c, 0x8D, timeout=7.0 if IS_MOSQUITTO else 4.0)


class TakeOverTest(ConformanceTest):
    @mosquitto_deviates('2.0.11 closes the old connection without DISCONNECT 0x8E')
    def test_mqtt_3_1_4_3_take_over_sends_disconnect_0x8e_to_the_old_connection(self):
        first, _ = self.v5_connected('v5-take')
        self.v5_connected('v5-take')
        self.assert_disconnected_with(first, 0x8E)

    def test_take_over_keeps_a_session_with_expiry_and_resends_in_flight(self):
        first, _ = self.v5_connected('v5-take-s', properties=[(m.SESSION_EXPIRY, 60)])
        first.subscribe([('v5/take', 1)])
        self.connected(version=V5).publish('v5/take', b'x', qos=1)
        msg = first.recv_publish()
        second = self.client(V5)
        connack = second.connect('v5-take-s', clean=False, properties=[(m.SESSION_EXPIRY, 60)])
        self.assertEqual(m.connack_codes(connack), (1, 0))
        again = second.recv_publish()
        self.assertEqual((again.payload, again.pid, again.dup), (b'x', msg.pid, True))

    def test_take_over_of_a_session_with_expiry_0_does_not_reuse_it(self):
        first, _ = self.v5_connected('v5-take-0')
        first.subscribe([('v5/take0', 1)])
        second = self.client(V5)
        connack = second.connect('v5-take-0', clean=False, properties=[(m.SESSION_EXPIRY, 60)])
        self.assertEqual(m.connack_codes(connack), (0, 0))
        second.subscribe([('marker/end', 1)])
        pub, _ = self.v5_connected()
        pub.publish('v5/take0', b'old subscription', qos=1)
        self.assertEqual(self.publishes_before_marker(second, pub), [])

    def test_second_connect_closes_the_connection_without_disconnect(self):
        # 4.13.1 recommends a DISCONNECT 0x82; telemq, like Mosquitto, sends none here, as the
        # Eclipse Paho interoperability client reads the socket from two threads at this point
        # and hangs when they split a DISCONNECT between them (docs/mqtt_conformance.md).
        c, _ = self.v5_connected('v5-twice')
        c.send(m.connect('v5-twice', version=V5))
        self.assert_closed(c)


class DisconnectTest(ConformanceTest):
    def test_mqtt_3_14_4_1_server_closes_after_a_client_disconnect(self):
        c, _ = self.v5_connected()
        c.send(m.disconnect(V5))
        self.assert_closed(c)

    @mosquitto_deviates('2.0.11 accepts a DISCONNECT with an unknown reason code')
    def test_disconnect_with_an_invalid_reason_code_is_malformed(self):
        sub = self.subscribed([('will/badreason', 0)], version=V5)
        c, _ = self.v5_connected('bad-reason', will=will('will/badreason'))
        c.send(m.packet(m.DISCONNECT, 0, b'\x03'))  # 0x03 is no DISCONNECT reason
        self.assert_closed(c, allowed=(m.DISCONNECT,))
        self.assertEqual(sub.recv_publish().topic, 'will/badreason')


class AuthTest(ConformanceTest):
    @mosquitto_deviates('2.0.11 closes without DISCONNECT 0x82')
    def test_mqtt_4_12_0_1_auth_without_an_authentication_method_is_a_protocol_error(self):
        c, _ = self.v5_connected()
        c.send(m.packet(m.AUTH, 0, b'\x18\x00'))  # Continue authentication
        self.assert_disconnected_with(c, 0x82)


class WillTest(ConformanceTest):
    def test_mqtt_3_1_2_8_will_published_on_close_with_its_properties_in_order(self):
        sub = self.subscribed([('will/props', 1)], version=V5)
        props = [(m.USER_PROPERTY, ('a', '2')), (m.USER_PROPERTY, ('c', '3')),
                 (m.USER_PROPERTY, ('a', '1')), (m.CONTENT_TYPE, 'text/plain'),
                 (m.RESPONSE_TOPIC, 'will/reply'), (m.CORRELATION_DATA, b'\x00\x01'),
                 (m.PAYLOAD_FORMAT, 1)]
        c, _ = self.v5_connected('will-props', will=will('will/props', b'bye', 1, properties=props))
        c.close()
        msg = self.receive(sub, 1)[0]
        self.assertEqual(msg.payload, b'bye')
        self.assertEqual([v for k, v in msg.properties if k == m.USER_PROPERTY],
                         [('a', '2'), ('c', '3'), ('a', '1')])
        for pid, value in props[3:]:
            self.assertEqual(msg.prop(pid), value, hex(pid))

    def test_mqtt_3_14_2_disconnect_0x00_discards_the_will(self):
        sub = self.subscribed([('will/normal', 1), ('marker/end', 1)], version=V5)
        c, _ = self.v5_connected('will-normal', will=will('will/normal'))
        c.send(m.disconnect(V5, 0x00))
        self.assert_closed(c)
        self.assertEqual(self.publishes_before_marker(sub, self.connected(version=V5)), [])

    def test_mqtt_3_14_2_disconnect_0x04_publishes_the_will(self):
        sub = self.subscribed([('will/with', 1)], version=V5)
        c, _ = self.v5_connected('will-with', will=will('will/with', b'asked'))
        c.send(m.disconnect(V5, 0x04))
        self.assert_closed(c)
        self.assertEqual(self.receive(sub, 1)[0].payload, b'asked')

    @mosquitto_deviates('2.0.11 discards the will on any DISCONNECT but one with 0x04')
    def test_mqtt_3_14_4_3_disconnect_with_an_error_reason_publishes_the_will(self):
        # Only 0x00 (Normal disconnection) discards the will (3.1.2.5, 3.14.4).
        sub = self.subscribed([('will/error', 1)], version=V5)
        c, _ = self.v5_connected('will-error', will=will('will/error', b'client error'))
        c.send(m.disconnect(V5, 0x80))  # Unspecified error
        self.assert_closed(c)
        self.assertEqual(self.receive(sub, 1)[0].payload, b'client error')

    def test_will_message_expiry_counts_from_the_publication_of_the_will(self):
        # 3.1.3.2.4: the will's Message Expiry Interval is sent as the expiry of the message
        # when it is published, not counted from CONNECT.
        sub = self.subscribed([('will/exp', 1)], version=V5)
        c, _ = self.v5_connected('will-exp', will=will('will/exp', b'late', qos=1, retain=True,
                                                       properties=[(m.MESSAGE_EXPIRY, 2)]))
        wait_broker_clock(2.5)  # longer than the will's expiry, before it is published
        c.close()
        msg = self.receive(sub, 1)[0]
        self.assertEqual(msg.payload, b'late')
        self.assertIn(msg.prop(m.MESSAGE_EXPIRY), (1, 2))
        later, _ = self.v5_connected()
        later.subscribe([('will/exp', 1)])
        retained = later.recv_publish()
        self.assertEqual((retained.payload, retained.retain), (b'late', True))

    def test_mqtt_3_1_3_9_will_delay_defers_the_will(self):
        sub = self.subscribed([('will/delay', 1)], version=V5)
        c, _ = self.v5_connected('will-delay', properties=[(m.SESSION_EXPIRY, 60)],
                                 will=will('will/delay', properties=[(0x18, 2)]))
        c.close()
        start = time.monotonic()
        self.assertEqual(self.receive(sub, 1, timeout=6)[0].topic, 'will/delay')
        self.assertGreaterEqual(time.monotonic() - start, 1.5)

    def test_mqtt_3_1_3_9_reconnecting_within_the_will_delay_cancels_the_will(self):
        sub = self.subscribed([('will/cancel', 1), ('marker/end', 1)], version=V5)
        c, _ = self.v5_connected('will-cancel', properties=[(m.SESSION_EXPIRY, 60)],
                                 will=will('will/cancel', properties=[(0x18, 2)]))
        c.close()
        c2 = self.client(V5)
        self.assertEqual(m.connack_codes(c2.connect('will-cancel', clean=False,
                                                    properties=[(m.SESSION_EXPIRY, 60)])), (1, 0))
        wait_broker_clock(2.5)  # past the will delay
        self.assertEqual(self.publishes_before_marker(sub, self.connected(version=V5)), [])

    def test_will_is_published_when_the_session_ends_before_the_will_delay(self):
        sub = self.subscribed([('will/expiry', 1)], version=V5)
        c, _ = self.v5_connected('will-expiry', properties=[(m.SESSION_EXPIRY, 1)],
                                 will=will('will/expiry', properties=[(0x18, 30)]))
        c.close()
        start = time.monotonic()
        self.assertEqual(self.receive(sub, 1, timeout=5)[0].topic, 'will/expiry')
        self.assertLess(time.monotonic() - start, 4.0)

    @mosquitto_deviates('2.0.11 waits for the Will Delay although the session has ended')
    def test_will_delay_with_session_expiry_0_publishes_at_once(self):
        sub = self.subscribed([('will/now', 1)], version=V5)
        c, _ = self.v5_connected('will-now', will=will('will/now', properties=[(0x18, 30)]))
        c.close()
        start = time.monotonic()
        self.assertEqual(self.receive(sub, 1, timeout=3)[0].topic, 'will/now')
        self.assertLess(time.monotonic() - start, 1.0)

    @mosquitto_deviates('2.0.11 drops a pending delayed will when Clean Start ends the session')
    def test_clean_start_on_a_session_with_a_pending_will_publishes_it(self):
        sub = self.subscribed([('will/clean', 1)], version=V5)
        c, _ = self.v5_connected('will-clean', properties=[(m.SESSION_EXPIRY, 60)],
                                 will=will('will/clean', properties=[(0x18, 30)]))
        c.close()
        self.v5_connected('will-clean', clean=True)  # the old session ends: its will is due
        self.assertEqual(self.receive(sub, 1, timeout=3)[0].topic, 'will/clean')


if __name__ == '__main__':
    unittest.main()
