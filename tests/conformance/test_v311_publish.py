"""MQTT 3.1.1 PUBLISH and its acknowledgements, QoS flows, retained messages and ordering
(sections 2.3.1, 3.3-3.7, 4.3, 4.5, 4.6)."""
import unittest

from support import ConformanceTest, m, mosquitto_deviates, V5


class PacketIdentifierTest(ConformanceTest):
    def test_mqtt_2_3_1_6_puback_carries_the_packet_id_of_the_publish(self):
        c = self.connected()
        for pid in (1, 0x1234, 0xFFFF):
            [puback] = c.publish('pid/t', b'x', qos=1, pid=pid)
            self.assertEqual((puback.flags, puback.body), (0, pid.to_bytes(2, 'big')))

    def test_mqtt_2_3_1_6_pubrec_and_pubcomp_carry_the_packet_id_of_the_publish(self):
        c = self.connected()
        for pid in (7, 0xABCD):
            rec, comp = c.publish('pid/t2', b'x', qos=2, pid=pid)
            self.assertEqual((rec.flags, rec.body), (0, pid.to_bytes(2, 'big')))
            self.assertEqual((comp.flags, comp.body), (0, pid.to_bytes(2, 'big')))

    def test_mqtt_2_3_1_2_server_uses_distinct_unused_ids_for_unacknowledged_publishes(self):
        sub = self.subscribed([('ids/t', 1)])
        pub = self.connected()
        for i in range(20):
            pub.publish('ids/t', b'%d' % i, qos=1, pid=i + 1)
        pids = [sub.recv_publish().pid for _ in range(20)]
        self.assertEqual(len(set(pids)), 20, pids)
        self.assertNotIn(0, pids)

    def test_mqtt_2_3_1_5_qos0_publish_has_no_packet_id(self):
        sub = self.subscribed([('q0/pid', 0)])
        self.connected().publish('q0/pid', b'payload')
        pkt = sub.expect(m.PUBLISH)
        self.assertEqual(pkt.body, m.utf8('q0/pid') + b'payload')


class QosFlowTest(ConformanceTest):
    def test_mqtt_3_3_4_1_qos0_publish_gets_no_acknowledgement(self):
        c = self.connected()
        c.send(m.publish('q0/noack', b'x'))
        c.send(m.PING)
        c.expect(m.PINGRESP)  # the first packet back, so nothing was sent for the QoS 0 PUBLISH

    def test_mqtt_4_3_2_2_qos1_publish_gets_puback_and_is_delivered(self):
        sub = self.subscribed([('q1/flow', 1)])
        pub = self.connected()
        [puback] = pub.publish('q1/flow', b'x', qos=1, pid=9)
        self.assertEqual(puback.pid, 9)
        msg = sub.recv_publish()
        self.assertEqual((msg.payload, msg.qos, msg.dup), (b'x', 1, False))

    def test_mqtt_4_3_2_2_same_packet_id_after_puback_is_a_new_publication(self):
        sub = self.subscribed([('q1/reuse', 1)])
        pub = self.connected()
        pub.publish('q1/reuse', b'first', qos=1, pid=5)
        pub.publish('q1/reuse', b'second', qos=1, pid=5)
        pub.send(m.publish('q1/reuse', b'third', qos=1, pid=5, dup=True))
        pub.expect(m.PUBACK)
        self.assertEqual([p.payload for p in self.receive(sub, 3)], [b'first', b'second', b'third'])

    def qos2_resend_before_pubrel(self, topic, dup):
        sub = self.subscribed([(topic, 2), ('marker/end', 1)])
        pub = self.connected()
        pub.send(m.publish(topic, b'x', qos=2, pid=3))
        self.assertEqual(pub.expect(m.PUBREC).pid, 3)
        # A resend before PUBREL: acknowledged with PUBREC, not delivered again.
        pub.send(m.publish(topic, b'x', qos=2, pid=3, dup=dup))
        self.assertEqual(pub.expect(m.PUBREC).pid, 3)
        pub.send(m.ack(m.PUBREL, 3))
        self.assertEqual(pub.expect(m.PUBCOMP).pid, 3)
        self.assertEqual([p.payload for p in self.publishes_before_marker(sub, pub)], [b'x'])

    def test_mqtt_4_3_3_2_qos2_resend_with_dup_before_pubrel_is_acknowledged_not_redelivered(self):
        self.qos2_resend_before_pubrel('q2/dup', dup=True)

    @mosquitto_deviates('2.0.11 closes on a PUBLISH reusing an unreleased QoS 2 id without DUP')
    def test_mqtt_4_3_3_2_any_publish_with_an_unreleased_qos2_id_gets_pubrec_only(self):
        self.qos2_resend_before_pubrel('q2/nodup', dup=False)

    def test_mqtt_4_3_3_2_same_packet_id_after_pubrel_is_a_new_publication(self):
        sub = self.subscribed([('q2/reuse', 2)])
        pub = self.connected()
        pub.publish('q2/reuse', b'first', qos=2, pid=4)
        pub.publish('q2/reuse', b'second', qos=2, pid=4)
        self.assertEqual([p.payload for p in self.receive(sub, 2)], [b'first', b'second'])

    def test_mqtt_4_3_3_2_pubrel_is_answered_with_pubcomp_even_for_an_unknown_id(self):
        c = self.connected()
        c.send(m.ack(m.PUBREL, 77))
        comp = c.expect(m.PUBCOMP)
        self.assertEqual((comp.flags, comp.pid, len(comp.body)), (0, 77, 2))

    def test_mqtt_4_3_3_1_qos2_delivery_flow_to_a_subscriber(self):
        sub = self.subscribed([('q2/out', 2)])
        self.connected().publish('q2/out', b'x', qos=2)
        msg = sub.recv_publish()
        self.assertEqual((msg.qos, msg.dup), (2, False))
        sub.send(m.ack(m.PUBREC, msg.pid))
        rel = sub.expect(m.PUBREL)
        self.assertEqual((rel.flags, rel.pid), (2, msg.pid))
        sub.send(m.ack(m.PUBCOMP, msg.pid))
        sub.ping()  # nothing else owed

    def test_mqtt_4_4_0_1_no_resend_while_the_connection_stays_up(self):
        sub = self.subscribed([('noresend', 1)])
        self.connected().publish('noresend', b'x', qos=1)
        sub.recv_publish()
        self.assert_silent(sub)  # not acknowledged, but the server must not retry in-session


class DeliveryQosTest(ConformanceTest):
    def test_mqtt_3_3_5_1_delivery_qos_is_min_of_published_and_granted_qos(self):
        subs = {g: self.subscribed([('dq/t', g)]) for g in (0, 1, 2)}
        pub = self.connected()
        for q in (0, 1, 2):
            pub.publish('dq/t', b'q%d' % q, qos=q, pid=q + 1)
            for g, sub in subs.items():
                msg = self.receive(sub, 1)[0]
                self.assertEqual((msg.payload, msg.qos), (b'q%d' % q, min(q, g)), (q, g))

    @mosquitto_deviates('2.0.11 sends the one copy at the QoS of one matching subscription')
    def test_mqtt_3_3_5_1_overlapping_subscriptions_deliver_at_the_maximum_granted_qos(self):
        sub = self.subscribed([('ov/#', 0), ('ov/+', 2), ('ov/x', 1), ('marker/end', 1)])
        pub = self.connected()
        pub.publish('ov/x', b'x', qos=2)
        got = self.publishes_before_marker(sub, pub)
        # One copy at QoS 2 (3.1.1 also allows a copy per subscription; 5.0 requires one).
        self.assertEqual([(p.payload, p.qos) for p in got], [(b'x', 2)])

    def test_mqtt_3_3_1_3_outgoing_dup_does_not_copy_the_incoming_dup(self):
        sub = self.subscribed([('dup/in', 1)])
        pub = self.connected()
        pub.send(m.publish('dup/in', b'x', qos=1, pid=1, dup=True))
        pub.expect(m.PUBACK)
        self.assertFalse(sub.recv_publish().dup)

    def test_mqtt_3_3_2_3_topic_name_sent_is_the_published_topic_not_the_filter(self):
        sub = self.subscribed([('tn/+/x/#', 0)])
        self.connected().publish('tn/a/x/b/c', b'x')
        self.assertEqual(sub.recv_publish().topic, 'tn/a/x/b/c')

    def test_mqtt_4_5_0_1_every_matching_session_receives_the_message(self):
        subs = [self.subscribed([(f, 1)]) for f in ('all/t', 'all/+', '#', 'all/#')]
        self.connected().publish('all/t', b'x', qos=1)
        for sub in subs:
            self.assertEqual(self.receive(sub, 1)[0].payload, b'x')

    def test_payload_bytes_are_delivered_unchanged(self):
        sub = self.subscribed([('bytes', 1)])
        pub = self.connected()
        payloads = [b'', b'\x00', bytes(range(256)), b'\xef\xbb\xbfbom', b'z' * 300000]
        for i, p in enumerate(payloads):
            pub.publish('bytes', p, qos=1, pid=i + 1)
        self.assertEqual([p.payload for p in self.receive(sub, len(payloads))], payloads)

    def test_message_from_a_5_0_publisher_reaches_a_3_1_1_subscriber_as_3_1_1(self):
        sub = self.subscribed([('xver', 1)])
        pub = self.client(V5)
        pub.connect('v5-pub')
        pub.publish('xver', b'x', qos=1, properties=[(m.CONTENT_TYPE, 'text/plain'),
                                                     (m.USER_PROPERTY, ('k', 'v'))])
        pkt = sub.expect(m.PUBLISH)
        msg = m.Publish(pkt, m.V311)
        # A 3.1.1 PUBLISH: topic, packet id, then the payload with no property block.
        self.assertEqual(pkt.body, m.utf8('xver') + msg.pid.to_bytes(2, 'big') + b'x')


class RetainedTest(ConformanceTest):
    def test_mqtt_3_3_1_5_retained_message_and_its_qos_are_stored(self):
        pub = self.connected()
        pub.publish('rt/q1', b'one', qos=1, retain=True)
        pub.publish('rt/q2', b'two', qos=2, pid=2, retain=True)
        sub = self.connected()
        sub.subscribe([('rt/+', 2)])
        got = sorted((p.topic, p.payload, p.qos, p.retain) for p in self.receive(sub, 2))
        self.assertEqual(got, [('rt/q1', b'one', 1, True), ('rt/q2', b'two', 2, True)])

    def test_mqtt_3_3_1_6_new_subscription_gets_the_last_retained_message(self):
        pub = self.connected()
        for i in range(3):
            pub.publish('rt/last', b'v%d' % i, qos=1, pid=i + 1, retain=True)
        sub = self.connected()
        sub.subscribe([('rt/last', 1), ('marker/end', 1)])
        self.assertEqual([p.payload for p in self.publishes_before_marker(sub, pub)], [b'v2'])

    def test_mqtt_3_3_1_7_qos0_retained_message_replaces_the_previous_one(self):
        pub = self.connected()
        pub.publish('rt/q0', b'old', qos=1, retain=True)
        pub.publish('rt/q0', b'new', qos=0, retain=True)
        pub.ping()  # 'new' was processed (and its retained update mailed) before the PINGRESP
        sub = self.connected()
        sub.subscribe([('rt/q0', 1), ('marker/end', 1)])
        got = self.publishes_before_marker(sub, pub)
        self.assertEqual([(p.payload, p.qos) for p in got], [(b'new', 0)])

    def test_mqtt_3_3_1_8_retained_message_sent_for_a_new_subscription_has_retain_1(self):
        pub = self.connected()
        pub.publish('rt/flag', b'x', qos=1, retain=True)
        sub = self.connected()
        sub.subscribe([('rt/#', 1)])
        self.assertTrue(sub.recv_publish().retain)

    def test_mqtt_3_3_1_9_message_to_an_established_subscription_has_retain_0(self):
        sub = self.subscribed([('rt/live', 1)])
        self.connected().publish('rt/live', b'x', qos=1, retain=True)
        msg = sub.recv_publish()
        self.assertEqual((msg.payload, msg.retain), (b'x', False))

    def test_mqtt_3_3_1_10_empty_retained_publish_is_delivered_and_clears(self):
        pub = self.connected()
        pub.publish('rt/clear', b'x', qos=1, retain=True)
        sub = self.subscribed([('rt/clear', 1)])
        self.assertEqual(self.receive(sub, 1)[0].payload, b'x')
        pub.publish('rt/clear', b'', qos=1, pid=2, retain=True)
        msg = self.receive(sub, 1)[0]
        self.assertEqual((msg.payload, msg.retain), (b'', False))
        later = self.connected()
        later.subscribe([('rt/clear', 1), ('marker/end', 1)])
        self.assertEqual(self.publishes_before_marker(later, pub), [])

    def test_mqtt_3_3_1_11_empty_retained_message_is_not_stored(self):
        pub = self.connected()
        for qos in (0, 1, 2):
            pub.publish('rt/empty/%d' % qos, b'', qos=qos, pid=qos + 1, retain=True)
        sub = self.connected()
        sub.subscribe([('rt/empty/#', 2), ('marker/end', 1)])
        self.assertEqual(self.publishes_before_marker(sub, pub), [])

    def test_mqtt_3_3_1_12_non_retained_publish_leaves_the_retained_message(self):
        pub = self.connected()
        pub.publish('rt/keep', b'retained', qos=1, retain=True)
        pub.publish('rt/keep', b'plain', qos=1, pid=2)
        pub.publish('rt/keep', b'', qos=1, pid=3)  # empty but not retained: no clear
        sub = self.connected()
        sub.subscribe([('rt/keep', 1), ('marker/end', 1)])
        self.assertEqual([p.payload for p in self.publishes_before_marker(sub, pub)],
                         [b'retained'])

    def test_retained_messages_are_sent_after_the_suback(self):
        pub = self.connected()
        pub.publish('rt/order', b'x', qos=1, retain=True)
        sub = self.connected()
        sub.send(m.subscribe(5, [('rt/order', 1)]))
        self.assertEqual(sub.expect(m.SUBACK).pid, 5)
        self.assertEqual(sub.recv_publish().payload, b'x')


class OrderingTest(ConformanceTest):
    def test_mqtt_4_6_0_2_to_4_acknowledgements_in_the_order_of_the_publishes(self):
        c = self.connected()
        c.send(b''.join(m.publish('ord/ack', b'x', qos=1, pid=p) for p in range(1, 21)))
        self.assertEqual([c.expect(m.PUBACK).pid for _ in range(20)], list(range(1, 21)))
        c.send(b''.join(m.publish('ord/ack', b'x', qos=2, pid=p) for p in range(30, 40)))
        self.assertEqual([c.expect(m.PUBREC).pid for _ in range(10)], list(range(30, 40)))
        c.send(b''.join(m.ack(m.PUBREL, p) for p in range(30, 40)))
        self.assertEqual([c.expect(m.PUBCOMP).pid for _ in range(10)], list(range(30, 40)))

    def test_mqtt_4_6_0_6_messages_from_one_client_arrive_in_publish_order(self):
        sub = self.subscribed([('ord/#', 2)])
        pub = self.connected()
        expected = []
        for i in range(60):
            qos = (1, 2)[i % 2]
            topic = 'ord/%d' % (i % 3)
            pub.publish(topic, b'%d' % i, qos=qos, pid=i + 1)
            expected.append((topic, b'%d' % i))
        self.assertEqual([(p.topic, p.payload) for p in self.receive(sub, 60)], expected)

    def test_mqtt_4_6_0_6_order_holds_across_shards_for_many_publishers(self):
        sub = self.subscribed([('shards/#', 1)])
        pubs = [self.connected('order-pub-%d' % i) for i in range(6)]
        for n in range(10):
            for i, pub in enumerate(pubs):
                pub.send(m.publish('shards/%d' % i, b'%d' % n, qos=1, pid=n + 1))
        for pub in pubs:
            for _ in range(10):
                pub.expect(m.PUBACK)
        got = {}
        for p in self.receive(sub, 60):
            got.setdefault(p.topic, []).append(int(p.payload))
        self.assertEqual(got, {'shards/%d' % i: list(range(10)) for i in range(6)})


if __name__ == '__main__':
    unittest.main()
