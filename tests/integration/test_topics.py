"""SUBSCRIBE / UNSUBSCRIBE, topic wildcards, $-topics, overlapping subscriptions
(MQTT 3.1.1 sections 3.8-3.11, 4.7)."""
import unittest

import mqtt_raw as m
from broker import BrokerTest


class SubscribeTest(BrokerTest):
    def test_granted_qos_equals_requested_qos_0_1_2(self):
        c = self.connected()
        for qos in (0, 1, 2):
            self.assertEqual(c.subscribe([('g/%d' % qos, qos)], pid=qos + 1), [qos])

    def test_multiple_filters_in_one_subscribe_get_one_return_code_each_in_order(self):
        c = self.connected()
        self.assertEqual(c.subscribe([('m/2', 2), ('m/0', 0), ('m/+/1', 1), ('#', 0)]),
                         [2, 0, 1, 0])

    def test_resubscribe_replaces_qos_of_existing_subscription(self):
        c = self.subscribed([('re/q', 2)])
        self.assertEqual(c.subscribe([('re/q', 0)], pid=2), [0])
        self.connected().publish('re/q', b'x', qos=2)
        msg = c.recv_publish()
        self.assertEqual(msg.qos, 0)

    def test_invalid_filter_hash_not_last_closes_connection(self):
        c = self.connected()
        c.send(m.subscribe(1, [('a/#/b', 0)]))
        self.assertTrue(c.closed_within(2))
        self.assert_serving()

    def test_invalid_filter_plus_not_whole_level_closes_connection(self):
        c = self.connected()
        c.send(m.subscribe(1, [('a+', 0)]))
        self.assertTrue(c.closed_within(2))
        self.assert_serving()

    def test_subscribe_with_qos_3_closes_connection(self):
        c = self.connected()
        c.send(m.subscribe(1, [('a', 3)]))
        self.assertTrue(c.closed_within(2))

    def test_subscribe_without_filters_closes_connection(self):
        c = self.connected()
        c.send(m.subscribe(1, []))
        self.assertTrue(c.closed_within(2))

    def test_unsubscribe_stops_delivery(self):
        c = self.subscribed([('u/a', 1), ('marker/end', 1)])
        c.send(m.unsubscribe(7, ['u/a']))
        self.assertEqual(c.expect(m.UNSUBACK).pid, 7)
        pub = self.connected()
        pub.publish('u/a', b'x', qos=1)
        self.assertEqual(self.publishes_before_marker(c, pub), [])

    def test_unsubscribe_of_filter_not_subscribed_still_gets_unsuback(self):
        c = self.connected()
        c.send(m.unsubscribe(8, ['never/subscribed']))
        unsuback = c.expect(m.UNSUBACK)
        self.assertEqual((unsuback.pid, unsuback.flags, len(unsuback.body)), (8, 0, 2))

    def test_unsubscribe_matches_filter_literally_not_by_wildcard(self):
        c = self.subscribed([('lit/a', 0), ('marker/end', 1)])
        c.send(m.unsubscribe(9, ['lit/+']))
        c.expect(m.UNSUBACK)
        pub = self.connected()
        pub.publish('lit/a', b'still')
        self.assertEqual([p.payload for p in self.publishes_before_marker(c, pub)], [b'still'])


class WildcardTest(BrokerTest):
    def matches(self, filt, topics):
        """Topics (in publish order) delivered to a subscriber of filt."""
        sub = self.subscribed([(filt, 0), ('marker/end', 1)])
        pub = self.connected()
        for t in topics:
            pub.publish(t, b'')
        return [p.topic for p in self.publishes_before_marker(sub, pub)]

    def test_plus_matches_exactly_one_level(self):
        self.assertEqual(self.matches('s/+/t', ['s/a/t', 's/t', 's/a/b/t', 's/b/t', 's/a/t/u']),
                         ['s/a/t', 's/b/t'])

    def test_trailing_plus_matches_one_level_only(self):
        self.assertEqual(self.matches('s/+', ['s', 's/a', 's/a/b', 's/']), ['s/a', 's/'])

    def test_hash_matches_parent_and_all_children(self):
        self.assertEqual(self.matches('a/#', ['a', 'a/b', 'a/b/c', 'b/a', 'ab']),
                         ['a', 'a/b', 'a/b/c'])

    def test_hash_alone_matches_everything_not_starting_with_dollar(self):
        self.assertEqual(self.matches('#', ['x', 'x/y', '/x']), ['x', 'x/y', '/x'])

    def test_plus_plus_matches_topic_with_leading_empty_level(self):
        self.assertEqual(self.matches('+/+', ['/finance', 'a/b', 'a']), ['/finance', 'a/b'])

    def test_slash_plus_matches_leading_empty_level(self):
        self.assertEqual(self.matches('/+', ['/finance', 'finance']), ['/finance'])

    def test_single_plus_does_not_match_leading_empty_level(self):
        self.assertEqual(self.matches('+', ['/finance', 'finance']), ['finance'])

    def test_empty_levels_are_levels(self):
        self.assertEqual(self.matches('a/+/b', ['a//b', 'a/b', 'a/x/b']), ['a//b', 'a/x/b'])

    def test_topic_match_is_case_sensitive(self):
        self.assertEqual(self.matches('Case/x', ['case/x', 'Case/x', 'CASE/X']), ['Case/x'])

    def test_hash_does_not_match_dollar_sys_or_dollar_test_topics(self):
        sub = self.subscribed([('#', 0), ('+/x', 0)])
        pub = self.connected()
        pub.publish('$test/x', b'hidden')
        pub.publish('visible/x', b'shown')
        # $SYS messages the broker publishes meanwhile must not reach '#' either.
        pub.publish('marker/end', b'', qos=1, pid=999)
        seen = [p.topic for p in self.receive(sub, until_topic='marker/end')]
        self.assertEqual([t for t in seen if t.startswith('$')], [])
        self.assertIn('visible/x', seen)

    def test_dollar_filter_matches_dollar_topics(self):
        sub = self.subscribed([('$test/#', 0)])
        self.connected().publish('$test/x', b'dollar')
        msg = sub.recv_publish()
        self.assertEqual((msg.topic, msg.payload), ('$test/x', b'dollar'))

    def test_client_may_publish_to_dollar_topic(self):
        # telemq and Mosquitto both accept a client's PUBLISH to a $-topic other than $SYS.
        pub = self.connected()
        self.assertEqual(pub.publish('$test/y', b'ok', qos=1)[0].pid, 1)


class OverlapTest(BrokerTest):
    def test_overlapping_subscriptions_deliver_once_at_maximum_qos(self):
        sub = self.subscribed([('a/#', 0), ('a/b', 2), ('marker/end', 1)])
        pub = self.connected()
        pub.publish('a/b', b'x', qos=2)
        got = self.publishes_before_marker(sub, pub)
        # 3.1.1 (3.3.5) also allows one copy per matching subscription; telemq (and Mosquitto
        # 2.0) deliver one copy at the maximum granted QoS, which 5.0 (3.3.4) requires.
        self.assertEqual([(p.payload, p.qos) for p in got], [(b'x', 2)])

    def test_overlapping_subscriptions_from_different_clients_each_get_a_copy(self):
        s1 = self.subscribed([('o/#', 1)])
        s2 = self.subscribed([('o/+', 1)])
        self.connected().publish('o/x', b'x', qos=1)
        self.assertEqual(self.receive(s1, 1)[0].payload, b'x')
        self.assertEqual(self.receive(s2, 1)[0].payload, b'x')


if __name__ == '__main__':
    unittest.main()
