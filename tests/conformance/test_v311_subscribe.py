"""MQTT 3.1.1 SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK and topic matching (sections 3.8-3.11,
4.7)."""
import unittest

from support import ConformanceTest, m, mosquitto_deviates, telemq_only


class SubscribeTest(ConformanceTest):
    def test_mqtt_3_8_1_1_subscribe_with_flags_other_than_0010_closes(self):
        for flags in (0, 1, 3, 8):
            c = self.connected()
            c.send(m.subscribe(1, [('a', 0)], flags=flags))
            self.assert_closed(c)

    def test_mqtt_3_8_3_3_subscribe_without_a_filter_closes(self):
        c = self.connected()
        c.send(m.packet(m.SUBSCRIBE, 2, b'\x00\x01'))
        self.assert_closed(c)

    def test_mqtt_3_8_3_4_reserved_bits_or_qos_3_in_requested_qos_closes(self):
        for opts in (3, 0x04, 0x80, 0x41):
            c = self.connected()
            c.send(m.subscribe(1, [('a', opts)]))
            self.assert_closed(c)

    def test_mqtt_3_8_4_1_and_2_suback_carries_the_subscribe_packet_id(self):
        c = self.connected()
        for pid in (1, 0x0102, 0xFFFF):
            c.send(m.subscribe(pid, [('sa/%d' % pid, 1)]))
            suback = c.expect(m.SUBACK)
            self.assertEqual((suback.flags, suback.pid), (0, pid))

    def test_mqtt_3_8_4_3_resubscribe_replaces_the_subscription_and_resends_retained(self):
        pub = self.connected()
        pub.publish('rs/t', b'retained', qos=1, retain=True)
        sub = self.connected()
        self.assertEqual(sub.subscribe([('rs/t', 0)]), [0])
        first = sub.recv_publish()
        self.assertEqual((first.payload, first.qos, first.retain), (b'retained', 0, True))
        self.assertEqual(sub.subscribe([('rs/t', 1)], pid=2), [1])
        again = sub.recv_publish()
        self.assertEqual((again.payload, again.qos, again.retain), (b'retained', 1, True))
        sub.send(m.ack(m.PUBACK, again.pid))
        pub.publish('rs/t', b'live', qos=1, pid=2)
        live = self.receive(sub, 1)[0]  # one copy, at the new QoS: the old one was replaced
        self.assertEqual((live.payload, live.qos), (b'live', 1))
        sub.subscribe([('marker/end', 1)], pid=3)
        self.assertEqual(self.publishes_before_marker(sub, pub), [])

    def test_mqtt_3_8_4_3_resubscribe_does_not_interrupt_the_flow_of_publications(self):
        sub = self.subscribed([('flow/t', 1)])
        pub = self.connected()
        for i in range(50):
            pub.send(m.publish('flow/t', b'%d' % i, qos=1, pid=i + 1))
            if i == 25:
                sub.send(m.subscribe(9, [('flow/t', 1)]))
        got = []
        while len(got) < 50:
            pkt = sub.recv()
            if pkt.type == m.SUBACK:
                continue
            msg = m.Publish(pkt, m.V311)
            sub.send(m.ack(m.PUBACK, msg.pid))
            got.append(int(msg.payload))
        self.assertEqual(got, list(range(50)))

    def test_mqtt_3_8_4_4_and_5_one_suback_with_a_code_per_filter_in_order(self):
        c = self.connected()
        codes = c.subscribe([('m/0', 0), ('m/1', 1), ('m/2', 2), ('m/+', 1), ('m/#', 0)])
        self.assertEqual(codes, [0, 1, 2, 1, 0])

    def test_mqtt_3_8_4_4_repeated_filter_in_one_subscribe_acts_as_two_subscribes(self):
        c = self.connected()
        self.assertEqual(c.subscribe([('rep/t', 0), ('rep/t', 2), ('marker/end', 1)]), [0, 2, 1])
        pub = self.connected()
        pub.publish('rep/t', b'x', qos=2)
        got = self.publishes_before_marker(c, pub)
        self.assertEqual([(p.payload, p.qos) for p in got], [(b'x', 2)])

    def test_mqtt_3_8_4_6_and_3_9_3_2_granted_qos_is_the_requested_qos(self):
        c = self.connected()
        self.assertEqual(c.subscribe([('g/0', 0), ('g/1', 1), ('g/2', 2)]), [0, 1, 2])

    def test_every_valid_filter_is_granted_within_the_subscription_limit(self):
        # telemq has no authorization: within --max-subscriptions (below) every well-formed
        # filter is granted (Paho's "subscribe failure" test needs a broker configured to refuse
        # "nosubscribe").
        c = self.connected()
        filters = [('test/nosubscribe', 2), ('nosubscribe', 2), ('$SYS/#', 0), ('#', 1),
                   ('+', 0), ('/'.join(['+'] * 200), 1), ('$share/g/t', 1), ('x' * 60000, 0)]
        self.assertEqual(c.subscribe(filters), [q for _, q in filters])


@telemq_only('--max-subscriptions')
class SubscriptionLimitTest(ConformanceTest):
    broker_flags = {'max-subscriptions': 2}

    def test_mqtt_3_9_3_filters_beyond_max_subscriptions_get_failure_0x80(self):
        c = self.connected()
        self.assertEqual(c.subscribe([('l/1', 1), ('l/2', 2), ('l/3', 1)]), [1, 2, 0x80])
        # Refused, not subscribed: nothing published there arrives.
        pub = self.connected()
        pub.publish('l/3', b'x')
        pub.publish('l/2', b'y')
        self.assertEqual(c.recv_publish().topic, 'l/2')
        self.assertTrue(self.log_contains('max-subscriptions (2) reached'))

    def test_paho_client_is_told_of_the_refusal_and_keeps_its_connection(self):
        a = self.paho('limited')
        self.assertEqual(a.subscribe('TopicA', 1), (1,))
        self.assertEqual(a.subscribe('TopicA/B', 1), (1,))
        self.assertEqual(a.subscribe('nosubscribe', 2), (0x80,))
        a.publish('TopicA', b'still connected', 1)
        self.assertEqual(a.get().payload, b'still connected')
        a.close()


class UnsubscribeTest(ConformanceTest):
    def test_mqtt_3_10_1_1_unsubscribe_with_flags_other_than_0010_closes(self):
        c = self.connected()
        c.send(m.packet(m.UNSUBSCRIBE, 0, b'\x00\x01' + m.utf8('a')))
        self.assert_closed(c)

    def test_mqtt_3_10_3_2_unsubscribe_without_a_filter_closes(self):
        c = self.connected()
        c.send(m.packet(m.UNSUBSCRIBE, 2, b'\x00\x01'))
        self.assert_closed(c)

    def test_mqtt_3_10_4_1_and_2_unsubscribe_stops_new_messages(self):
        c = self.subscribed([('un/a', 1), ('un/b', 1), ('marker/end', 1)])
        c.send(m.unsubscribe(2, ['un/a']))
        c.expect(m.UNSUBACK)
        pub = self.connected()
        pub.publish('un/a', b'a', qos=1)
        pub.publish('un/b', b'b', qos=1, pid=2)
        self.assertEqual([p.topic for p in self.publishes_before_marker(c, pub)], ['un/b'])

    def test_mqtt_3_10_4_1_filters_are_compared_character_by_character(self):
        c = self.subscribed([('lit/+', 0), ('lit/a', 0), ('marker/end', 1)])
        c.send(m.unsubscribe(2, ['lit/#', 'LIT/+', 'lit/a/']))
        c.expect(m.UNSUBACK)
        pub = self.connected()
        pub.publish('lit/a', b'x')
        self.assertEqual([p.payload for p in self.publishes_before_marker(c, pub)], [b'x'])
        c.send(m.unsubscribe(3, ['lit/+', 'lit/a']))
        c.expect(m.UNSUBACK)
        pub.publish('lit/a', b'y')
        self.assertEqual(self.publishes_before_marker(c, pub), [])

    def test_mqtt_3_10_4_3_qos1_delivery_in_flight_completes_after_unsubscribe(self):
        c = self.subscribed([('inflight/1', 1)])
        self.connected().publish('inflight/1', b'x', qos=1)
        msg = c.recv_publish()
        c.send(m.unsubscribe(2, ['inflight/1']))
        c.expect(m.UNSUBACK)
        c.send(m.ack(m.PUBACK, msg.pid))
        c.ping()  # accepted: no close, nothing resent

    def test_mqtt_3_10_4_3_qos2_delivery_in_flight_completes_after_unsubscribe(self):
        c = self.subscribed([('inflight/2', 2)])
        self.connected().publish('inflight/2', b'x', qos=2)
        msg = c.recv_publish()
        c.send(m.unsubscribe(2, ['inflight/2']))
        c.expect(m.UNSUBACK)
        c.send(m.ack(m.PUBREC, msg.pid))
        self.assertEqual(c.expect(m.PUBREL).pid, msg.pid)
        c.send(m.ack(m.PUBCOMP, msg.pid))
        c.ping()

    def test_mqtt_3_10_4_4_and_5_unsuback_with_the_packet_id_even_when_nothing_matched(self):
        c = self.connected()
        for pid in (1, 0x4242):
            c.send(m.unsubscribe(pid, ['never/subscribed']))
            ack = c.expect(m.UNSUBACK)
            self.assertEqual((ack.flags, ack.body), (0, pid.to_bytes(2, 'big')))

    def test_mqtt_3_10_4_6_several_filters_get_one_unsuback(self):
        c = self.subscribed([('s/1', 0), ('s/2', 0), ('marker/end', 1)])
        c.send(m.unsubscribe(7, ['s/1', 's/2', 's/3']))
        self.assertEqual(c.expect(m.UNSUBACK).pid, 7)
        pub = self.connected()
        pub.publish('s/1', b'')
        pub.publish('s/2', b'')
        self.assertEqual(self.publishes_before_marker(c, pub), [])


class TopicTest(ConformanceTest):
    def matches(self, filt, topics):
        """The topics, in publish order, that a subscriber of filt receives."""
        sub = self.subscribed([(filt, 0), ('marker/end', 1)])
        pub = self.connected()
        for t in topics:
            pub.publish(t, b'')
        return [p.topic for p in self.publishes_before_marker(sub, pub)]

    def test_mqtt_4_7_1_2_multi_level_wildcard_examples(self):
        self.assertEqual(self.matches('sport/tennis/player1/#', [
            'sport/tennis/player1', 'sport/tennis/player1/ranking',
            'sport/tennis/player1/score/wimbledon', 'sport/tennis/player2', 'sport/tennis']),
            ['sport/tennis/player1', 'sport/tennis/player1/ranking',
             'sport/tennis/player1/score/wimbledon'])
        self.assertEqual(self.matches('sport/#', ['sport', 'sport/x', 'sports']),
                         ['sport', 'sport/x'])

    def test_mqtt_4_7_1_3_single_level_wildcard_examples(self):
        self.assertEqual(self.matches('sport/tennis/+', [
            'sport/tennis/player1', 'sport/tennis/player2', 'sport/tennis/player1/ranking']),
            ['sport/tennis/player1', 'sport/tennis/player2'])
        self.assertEqual(self.matches('sport/+', ['sport', 'sport/']), ['sport/'])
        self.assertEqual(self.matches('+/+', ['/finance', 'a', 'a/b/c']), ['/finance'])
        self.assertEqual(self.matches('/+', ['/finance', 'finance']), ['/finance'])
        self.assertEqual(self.matches('+', ['/finance', 'finance']), ['finance'])
        self.assertEqual(self.matches('+/tennis/#', ['sport/tennis', 'sport/tennis/x', 'tennis']),
                         ['sport/tennis', 'sport/tennis/x'])

    def test_mqtt_4_7_1_1_hash_not_last_or_not_a_whole_level_closes(self):
        for bad in ('a/#/b', 'a#', '#/a', 'a/b#'):
            c = self.connected()
            c.send(m.subscribe(1, [(bad, 0)]))
            self.assert_closed(c)

    def test_mqtt_4_7_1_2_plus_not_a_whole_level_closes(self):
        for bad in ('a+', '+a/b', 'a/b+/c', '++'):
            c = self.connected()
            c.send(m.subscribe(1, [(bad, 0)]))
            self.assert_closed(c)

    def test_mqtt_4_7_2_1_wildcard_at_the_start_does_not_match_dollar_topics(self):
        sub = self.subscribed([('#', 0), ('+/monitor/Clients', 0), ('+', 0), ('marker/end', 1)])
        pub = self.connected()
        for t in ('$SYS/monitor/Clients', '$SYS', '$x/monitor/Clients'):
            pub.publish(t, b'')
        pub.publish('plain', b'')
        topics = [p.topic for p in self.publishes_before_marker(sub, pub)]
        self.assertEqual(topics, ['plain'])

    def test_mqtt_4_7_2_1_filters_starting_with_dollar_match_dollar_topics(self):
        # $test rather than $SYS: Mosquitto publishes $SYS itself and drops clients' $SYS.
        self.assertEqual(self.matches('$test/#', ['$test/monitor/Clients', 'test/x', '$test']),
                         ['$test/monitor/Clients', '$test'])
        self.assertEqual(self.matches('$test/monitor/+', ['$test/monitor/Clients']),
                         ['$test/monitor/Clients'])

    def test_mqtt_4_7_2_1_retained_dollar_topics_are_not_sent_to_wildcard_subscriptions(self):
        pub = self.connected()
        pub.publish('$test/retained', b'hidden', qos=1, retain=True)
        pub.publish('visible/retained', b'shown', qos=1, pid=2, retain=True)
        sub = self.connected()
        sub.subscribe([('#', 1), ('+/retained', 1), ('marker/end', 1)])
        # One copy per matching filter is allowed (a SUBSCRIBE acts as one per filter).
        got = {p.topic for p in self.publishes_before_marker(sub, pub)}
        self.assertEqual(got, {'visible/retained'})
        sub.subscribe([('$test/#', 1)], pid=2)
        self.assertEqual(sub.recv_publish().topic, '$test/retained')

    def test_mqtt_4_7_3_1_empty_topic_name_or_filter_closes(self):
        c = self.connected()
        c.send(m.publish('', b'x'))
        self.assert_closed(c)
        c = self.connected()
        c.send(m.subscribe(1, [('', 0)]))
        self.assert_closed(c)

    def test_mqtt_4_7_3_2_null_character_in_topic_name_or_filter_closes(self):
        c = self.connected()
        c.send(m.publish('a\x00b', b'x'))
        self.assert_closed(c)
        c = self.connected()
        c.send(m.subscribe(1, [('a/\x00', 0)]))
        self.assert_closed(c)

    def test_mqtt_4_7_3_4_no_normalisation_of_topics_or_filters(self):
        self.assertEqual(self.matches('a/b', ['a//b', 'a/b/', '/a/b', 'A/b', 'a/b']), ['a/b'])
        self.assertEqual(self.matches('a//b', ['a/b', 'a//b']), ['a//b'])
        self.assertEqual(self.matches('sp ace/\u00e9', ['sp ace/\u00e9', 'space/\u00e9',
                                                        'sp ace/e\u0301']), ['sp ace/\u00e9'])

    @mosquitto_deviates('2.0.11 closes the connection on control characters in a topic')
    def test_every_ascii_character_but_wildcards_and_nul_is_a_valid_topic_character(self):
        # Control characters are discouraged (SHOULD NOT) but allowed: they must be routed.
        chars = [chr(i) for i in range(1, 128) if chr(i) not in '+#/']
        sub = self.subscribed([('ascii/+', 0), ('marker/end', 1)])
        pub = self.connected()
        for ch in chars:
            pub.publish('ascii/' + ch, b'')
        got = [p.topic for p in self.publishes_before_marker(sub, pub)]
        self.assertEqual(got, ['ascii/' + ch for ch in chars])

    def test_mqtt_4_7_3_3_topic_of_65535_bytes_is_routed(self):
        topic = 'L/' + 'x' * 65533
        sub = self.subscribed([('L/+', 0)])
        self.connected().publish(topic, b'long')
        self.assertEqual(sub.recv_publish().topic, topic)

    def test_mqtt_1_5_3_3_byte_order_mark_in_a_topic_is_not_stripped(self):
        self.assertEqual(self.matches('\ufeffbom', ['bom', '\ufeffbom']), ['\ufeffbom'])


if __name__ == '__main__':
    unittest.main()
