"""MQTT 5.0 SUBSCRIBE/UNSUBSCRIBE: subscription options (No Local, Retain As Published, Retain
Handling), Subscription Identifiers, shared subscriptions, overlapping subscriptions, reason codes
(sections 3.8-3.11, 4.8)."""
import unittest

from support import (ConformanceTest, IS_MOSQUITTO, V5, m, mosquitto_deviates, suback_codes, telemq_only,
                     unsuback_codes)

NO_LOCAL, RETAIN_AS_PUBLISHED = 0x04, 0x08


def retain_handling(n):
    return n << 4


class SubackTest(ConformanceTest):
    def test_mqtt_3_9_3_suback_reason_codes_are_the_granted_qos_in_order(self):
        c, _ = self.v5_connected()
        self.assertEqual(c.subscribe([('s/0', 0), ('s/1', 1), ('s/2', 2), ('s/+', 2)]),
                         [0, 1, 2, 2])

    def test_invalid_filter_is_malformed_disconnect_0x81_or_suback_0x8f(self):
        c, _ = self.v5_connected()
        c.send(m.subscribe(1, [('ok', 0), ('a/#/b', 0)], version=V5))
        pkt = c.recv()
        if pkt.type == m.SUBACK:
            self.assertEqual(suback_codes(pkt, V5), [0, 0x8F])
        else:
            self.assertEqual((pkt.type, pkt.body[:1]), (m.DISCONNECT, b'\x81'))
            self.assert_closed(c)

    def test_mqtt_3_8_3_5_retain_handling_3_is_a_protocol_error(self):
        c, _ = self.v5_connected()
        c.send(m.subscribe(1, [('rh3', retain_handling(3))], version=V5))
        self.assert_disconnected_with(c, (0x81, 0x82))

    def test_mqtt_3_8_3_5_reserved_option_bits_are_malformed(self):
        c, _ = self.v5_connected()
        c.send(m.subscribe(1, [('reserved', 0x40)], version=V5))
        self.assert_disconnected_with(c, (0x81, 0x82))

    def test_mqtt_3_11_3_unsuback_success_and_no_subscription_existed(self):
        c, _ = self.v5_connected()
        c.subscribe([('u/a', 0)])
        c.send(m.unsubscribe(2, ['u/a', 'u/none', 'u/a'], version=V5))
        ack = c.expect(m.UNSUBACK)
        self.assertEqual((ack.pid, unsuback_codes(ack)), (2, [0x00, 0x11, 0x11]))

    def test_overlapping_subscriptions_deliver_one_copy_at_the_maximum_qos(self):
        c, _ = self.v5_connected()
        c.subscribe([('ov/+', 1), ('ov/#', 2), ('ov/x', 0), ('marker/end', 1)])
        pub, _ = self.v5_connected()
        pub.publish('ov/x', b'x', qos=2)
        got = self.publishes_before_marker(c, pub)
        # MQTT-3.3.4-2: a copy at the maximum QoS; further copies per subscription are allowed
        # (Mosquitto sends them); telemq sends exactly one.
        self.assertIn((b'x', 2), [(p.payload, p.qos) for p in got])
        if not IS_MOSQUITTO:
            self.assertEqual(len(got), 1, got)


@telemq_only('--max-subscriptions')
class SubscriptionLimitTest(ConformanceTest):
    broker_flags = {'max-subscriptions': 2}

    def test_mqtt_3_9_3_filters_beyond_max_subscriptions_get_quota_exceeded_0x97(self):
        c, _ = self.v5_connected()
        self.assertEqual(c.subscribe([('l/1', 1), ('l/2', 2), ('l/3', 1)]), [1, 2, 0x97])
        # An existing filter is replaced, not counted again.
        self.assertEqual(c.subscribe([('l/1', 0)]), [0])


class NoLocalTest(ConformanceTest):
    def test_mqtt_3_8_3_3_no_local_suppresses_only_the_own_messages(self):
        a, _ = self.v5_connected('nl-a')
        b, _ = self.v5_connected('nl-b')
        a.subscribe([('nl/t', 1 | NO_LOCAL), ('marker/end', 1)])
        b.subscribe([('nl/t', 1 | NO_LOCAL)])
        a.publish('nl/t', b'from a', qos=1)
        self.assertEqual(self.receive(b, 1)[0].payload, b'from a')
        b.publish('nl/t', b'from b', qos=1)
        got = self.publishes_before_marker(a, b)
        self.assertEqual([p.payload for p in got], [b'from b'])

    def test_without_no_local_a_client_receives_its_own_messages(self):
        a, _ = self.v5_connected('own')
        a.subscribe([('own/t', 0)])
        a.publish('own/t', b'mine')
        self.assertEqual(a.recv_publish().payload, b'mine')

    @mosquitto_deviates('2.0.11 accepts No Local on a shared subscription')
    def test_mqtt_3_8_3_4_no_local_on_a_shared_subscription_is_a_protocol_error(self):
        c, _ = self.v5_connected()
        c.send(m.subscribe(1, [('$share/g/nl', 1 | NO_LOCAL)], version=V5))
        self.assert_disconnected_with(c, 0x82)


class RetainOptionsTest(ConformanceTest):
    def retained(self, *topics):
        pub, _ = self.v5_connected()
        for i, t in enumerate(topics):
            pub.publish(t, b'r-' + t.encode(), qos=1, pid=i + 1, retain=True)
        return pub

    def test_mqtt_3_3_1_12_retain_as_published_0_clears_retain_on_live_delivery(self):
        sub, _ = self.v5_connected()
        sub.subscribe([('rap/t', 1)])
        self.retained('rap/t')
        self.assertFalse(sub.recv_publish().retain)

    def test_mqtt_3_3_1_13_retain_as_published_1_keeps_the_flag_on_live_delivery(self):
        sub, _ = self.v5_connected()
        sub.subscribe([('rap/t', 1 | RETAIN_AS_PUBLISHED)])
        pub, _ = self.v5_connected()
        pub.publish('rap/t', b'plain', qos=1)
        pub.publish('rap/t', b'kept', qos=1, pid=2, retain=True)
        got = self.receive(sub, 2)
        self.assertEqual([(p.payload, p.retain) for p in got], [(b'plain', False), (b'kept', True)])

    def test_mqtt_3_3_1_9_retained_messages_at_subscribe_have_retain_1_whatever_the_rap(self):
        self.retained('rap/s')
        for opts in (1, 1 | RETAIN_AS_PUBLISHED):
            sub, _ = self.v5_connected()
            sub.subscribe([('rap/s', opts)])
            self.assertTrue(sub.recv_publish().retain)

    def test_mqtt_3_3_1_9_retain_handling_0_sends_retained_on_every_subscribe(self):
        pub = self.retained('rh0/a', 'rh0/b')
        sub, _ = self.v5_connected()
        sub.subscribe([('marker/end', 1)])
        for pid in (2, 3):
            sub.subscribe([('rh0/+', 1 | retain_handling(0))], pid=pid)
            got = self.publishes_before_marker(sub, pub)
            self.assertEqual(sorted(p.topic for p in got), ['rh0/a', 'rh0/b'])

    def test_mqtt_3_3_1_10_retain_handling_1_sends_retained_only_for_a_new_subscription(self):
        pub = self.retained('rh1/a')
        sub, _ = self.v5_connected()
        sub.subscribe([('marker/end', 1)])
        sub.subscribe([('rh1/+', 1 | retain_handling(1))], pid=2)
        self.assertEqual([p.topic for p in self.publishes_before_marker(sub, pub)], ['rh1/a'])
        sub.subscribe([('rh1/+', 1 | retain_handling(1))], pid=3)
        self.assertEqual(self.publishes_before_marker(sub, pub), [])

    def test_mqtt_3_3_1_11_retain_handling_2_never_sends_retained_at_subscribe(self):
        pub = self.retained('rh2/a')
        sub, _ = self.v5_connected()
        sub.subscribe([('marker/end', 1)])
        for pid in (2, 3):
            sub.subscribe([('rh2/+', 1 | retain_handling(2))], pid=pid)
            self.assertEqual(self.publishes_before_marker(sub, pub), [])
        pub.publish('rh2/a', b'live', qos=1, pid=7)  # live messages still flow
        self.assertEqual(self.receive(sub, 1)[0].payload, b'live')

    def test_retained_qos_at_subscribe_is_the_minimum_of_stored_and_granted(self):
        pub, _ = self.v5_connected()
        pub.publish('rq/2', b'x', qos=2, retain=True)
        sub, _ = self.v5_connected()
        sub.subscribe([('rq/2', 1)])
        self.assertEqual(sub.recv_publish().qos, 1)


class SubscriptionIdentifierTest(ConformanceTest):
    def sub_with_id(self, c, filters, sid, pid=1):
        return c.subscribe(filters, pid=pid, properties=[(m.SUBSCRIPTION_ID, sid)])

    def ids(self, msg):
        return sorted(v for k, v in msg.properties if k == m.SUBSCRIPTION_ID)

    def test_mqtt_3_3_4_3_subscription_identifier_is_sent_with_matching_messages(self):
        c, _ = self.v5_connected()
        self.sub_with_id(c, [('sid/a', 1)], 456789)
        self.sub_with_id(c, [('sid/b', 1)], 268435455, pid=2)  # the largest identifier
        pub, _ = self.v5_connected()
        pub.publish('sid/a', b'a', qos=1)
        pub.publish('sid/b', b'b', qos=1, pid=2)
        got = self.receive(c, 2)
        self.assertEqual([self.ids(p) for p in got], [[456789], [268435455]])

    @telemq_only('one copy carrying every identifier; Mosquitto sends a copy per subscription')
    def test_mqtt_3_3_4_4_and_5_overlapping_subscriptions_send_every_identifier(self):
        c, _ = self.v5_connected()
        self.sub_with_id(c, [('sid/x', 2)], 2)
        self.sub_with_id(c, [('sid/x/#', 2)], 3, pid=2)
        c.subscribe([('sid/+', 0)], pid=3)  # no identifier
        pub, _ = self.v5_connected()
        pub.publish('sid/x', b'x', qos=1)
        msg = self.receive(c, 1)[0]
        self.assertEqual((msg.payload, self.ids(msg)), (b'x', [2, 3]))

    def test_identifier_is_sent_with_retained_messages_at_subscribe(self):
        pub, _ = self.v5_connected()
        pub.publish('sid/r', b'r', qos=1, retain=True)
        c, _ = self.v5_connected()
        self.sub_with_id(c, [('sid/r', 1)], 77)
        self.assertEqual(self.ids(c.recv_publish()), [77])

    def test_resubscribe_replaces_or_removes_the_identifier(self):
        c, _ = self.v5_connected()
        self.sub_with_id(c, [('sid/re', 0)], 5)
        self.sub_with_id(c, [('sid/re', 0)], 6, pid=2)
        pub, _ = self.v5_connected()
        pub.publish('sid/re', b'1')
        self.assertEqual(self.ids(c.recv_publish()), [6])
        c.subscribe([('sid/re', 0)], pid=3)
        pub.publish('sid/re', b'2')
        self.assertEqual(self.ids(c.recv_publish()), [])

    def test_subscription_identifier_0_is_a_protocol_error(self):
        c, _ = self.v5_connected()
        c.send(m.subscribe(1, [('sid/0', 0)], version=V5, properties=[(m.SUBSCRIPTION_ID, 0)]))
        self.assert_disconnected_with(c, (0x81, 0x82))

    def test_3_1_1_subscriber_gets_no_subscription_identifier(self):
        sub = self.subscribed([('sid/311', 0)])
        self.connected(version=V5).publish('sid/311', b'x')
        pkt = sub.expect(m.PUBLISH)
        self.assertEqual(pkt.body, m.utf8('sid/311') + b'x')


class SharedSubscriptionTest(ConformanceTest):
    def members(self, group_filter, n, qos=1):
        out = []
        for i in range(n):
            c, _ = self.v5_connected('member-%d' % i)
            c.subscribe([(group_filter, qos), ('marker/end', 1)])
            out.append(c)
        return out

    def test_mqtt_4_8_2_each_message_goes_to_one_member_of_the_group(self):
        members = self.members('$share/grp/sh/t', 3)
        pub, _ = self.v5_connected()
        for i in range(30):
            pub.publish('sh/t', b'%d' % i, qos=1, pid=i + 1)
        got = []
        for c in members:
            got += [int(p.payload) for p in self.publishes_before_marker(c, pub)]
        self.assertEqual(sorted(got), list(range(30)))

    @telemq_only('how a group shares the messages is the broker\'s choice (5.0 4.8.2)')
    def test_every_member_gets_a_share_of_a_single_publishers_stream(self):
        # Publishers and members land on shards as the kernel spreads connections; the shards
        # holding members take turns, so no member is left out, whatever the placement. (The
        # publisher's own shard used to serve all while it had a member.)
        members = []
        for i in range(4):
            c, _ = self.v5_connected('fair-%d' % i)
            c.subscribe([('$share/fair/sh/f', 1), ('fair/marker/+', 1)])
            members.append(c)
        for p in range(4):
            pub, _ = self.v5_connected('fair-pub-%d' % p)
            for i in range(40):
                pub.publish('sh/f', b'%d' % i, qos=1, pid=i + 1)
            pub.publish('fair/marker/%d' % p, b'end', qos=1, pid=100)
            counts = [len(self.receive(c, until_topic='fair/marker/%d' % p)) for c in members]
            self.assertEqual(sum(counts), 40, counts)
            self.assertNotIn(0, counts, 'publisher %d: the members got %r' % (p, counts))

    def test_mqtt_4_8_2_groups_and_plain_subscribers_each_get_a_copy(self):
        g1 = self.members('$share/g1/sh/x', 2)
        g2, _ = self.v5_connected('g2-only')
        g2.subscribe([('$share/g2/sh/+', 0)])
        plain, _ = self.v5_connected('plain')
        plain.subscribe([('sh/x', 0)])
        pub, _ = self.v5_connected()
        pub.publish('sh/x', b'x', qos=1)
        self.assertEqual(g2.recv_publish().payload, b'x')
        self.assertEqual(plain.recv_publish().payload, b'x')
        counts = [len(self.publishes_before_marker(c, pub)) for c in g1]
        self.assertEqual(sorted(counts), [0, 1])

    @mosquitto_deviates('2.0.11 sends retained messages to a new shared subscription')
    def test_shared_subscription_gets_no_retained_messages_at_subscribe(self):
        pub, _ = self.v5_connected()
        pub.publish('sh/ret', b'r', qos=1, retain=True)
        c, _ = self.v5_connected()
        c.subscribe([('$share/g/sh/ret', 1), ('marker/end', 1)])
        self.assertEqual(self.publishes_before_marker(c, pub), [])

    def test_unsubscribing_a_member_leaves_the_others(self):
        a, b = self.members('$share/u/sh/u', 2)
        a.send(m.unsubscribe(5, ['$share/u/sh/u'], version=V5))
        self.assertEqual(unsuback_codes(a.expect(m.UNSUBACK)), [0])
        pub, _ = self.v5_connected()
        for i in range(4):
            pub.publish('sh/u', b'%d' % i, qos=1, pid=i + 1)
        self.assertEqual(self.publishes_before_marker(a, pub), [])
        self.assertEqual(len(self.receive(b, 4)), 4)

    @telemq_only('shared subscriptions for 3.1.1 clients are an extension')
    def test_3_1_1_clients_may_join_a_shared_subscription(self):
        a = self.subscribed([('$share/old/sh/311', 1), ('marker/end', 1)])
        b = self.subscribed([('$share/old/sh/311', 1), ('marker/end', 1)])
        pub = self.connected()
        for i in range(10):
            pub.publish('sh/311', b'%d' % i, qos=1, pid=i + 1)
        got = []
        for c in (a, b):
            got += [int(p.payload) for p in self.publishes_before_marker(c, pub)]
        self.assertEqual(sorted(got), list(range(10)))

    @mosquitto_deviates('2.0.11 accepts "$share/g" and "$share//t" as plain filters')
    def test_invalid_shared_subscription_filters_are_refused(self):
        for bad in ('$share/g', '$share//t', '$share/g+/t', '$share/g#/t'):
            c, _ = self.v5_connected()
            c.send(m.subscribe(1, [(bad, 0)], version=V5))
            pkt = c.recv()
            if pkt.type == m.SUBACK:
                self.assertEqual(suback_codes(pkt, V5), [0x8F], bad)
            else:
                self.assertEqual(pkt.type, m.DISCONNECT, bad)
                self.assert_closed(c)


if __name__ == '__main__':
    unittest.main()
