"""Clean and persistent sessions: stored subscriptions, offline queueing, redelivery with DUP
(MQTT 3.1.1 sections 3.1.2.4, 4.1, 4.4)."""
import unittest

import mqtt_raw as m
from broker import BrokerTest


class SessionTest(BrokerTest):
    def offline(self, client_id, filters):
        """Creates a persistent session subscribed to filters and disconnects it normally."""
        c = self.connected(client_id, clean=False)
        c.subscribe(filters)
        c.send(m.disconnect())
        self.assertTrue(c.closed_within(2))

    def resume(self, client_id):
        c = self.client()
        self.assertEqual(m.connack_codes(c.connect(client_id, clean=False)), (1, 0))
        return c

    def test_persistent_session_keeps_subscriptions_across_reconnect(self):
        self.offline('keep-subs', [('ks/a', 1), ('ks/b/#', 0)])
        c = self.resume('keep-subs')
        pub = self.connected()
        pub.publish('ks/a', b'a', qos=1)
        msg = c.recv_publish()
        self.assertEqual((msg.topic, msg.qos), ('ks/a', 1))
        c.send(m.ack(m.PUBACK, msg.pid))
        pub.publish('ks/b/c', b'bc')
        self.assertEqual(c.recv_publish().topic, 'ks/b/c')

    def test_qos1_and_qos2_messages_published_while_offline_are_delivered_on_reconnect(self):
        self.offline('queued', [('q/1', 1), ('q/2', 2)])
        pub = self.connected()
        pub.publish('q/1', b'one', qos=1)
        pub.publish('q/2', b'two', qos=2, pid=2)
        pub.publish('q/1', b'three', qos=1, pid=3)
        c = self.resume('queued')
        got = [(p.topic, p.payload, p.qos) for p in self.receive(c, 3)]
        self.assertEqual(got, [('q/1', b'one', 1), ('q/2', b'two', 2), ('q/1', b'three', 1)])

    def test_offline_messages_are_not_delivered_twice_after_ack(self):
        self.offline('queued-once', [('qo', 1), ('marker/end', 1)])
        pub = self.connected()
        pub.publish('qo', b'x', qos=1)
        c = self.resume('queued-once')
        msg = c.recv_publish()
        c.send(m.ack(m.PUBACK, msg.pid))
        c.send(m.disconnect())
        self.assertTrue(c.closed_within(2))
        c2 = self.resume('queued-once')
        self.assertEqual(self.publishes_before_marker(c2, pub), [])

    def test_clean_session_discards_previous_subscriptions_and_queue(self):
        self.offline('cleaned', [('cl/x', 1), ('marker/end', 1)])
        pub = self.connected()
        pub.publish('cl/x', b'queued', qos=1)
        c = self.client()
        self.assertEqual(m.connack_codes(c.connect('cleaned', clean=True)), (0, 0))
        c.subscribe([('marker/end', 1)])
        pub.publish('cl/x', b'live', qos=1, pid=2)
        self.assertEqual(self.publishes_before_marker(c, pub), [])

    def test_clean_session_state_is_dropped_at_disconnect(self):
        c = self.connected('clean-drop', clean=True)
        c.subscribe([('cd', 1)])
        c.send(m.disconnect())
        self.assertTrue(c.closed_within(2))
        c2 = self.client()
        self.assertEqual(m.connack_codes(c2.connect('clean-drop', clean=False)), (0, 0))

    def test_unacked_qos1_messages_resent_with_dup_and_same_packet_ids_on_reconnect(self):
        c = self.connected('redeliver-1', clean=False)
        c.subscribe([('rd/1', 1)])
        pub = self.connected()
        for i in range(3):
            pub.publish('rd/1', b'%d' % i, qos=1, pid=i + 1)
        first = [c.recv_publish() for _ in range(3)]
        self.assertEqual([p.dup for p in first], [False] * 3)
        c.close()  # no PUBACK, no DISCONNECT
        c2 = self.resume('redeliver-1')
        again = [c2.recv_publish() for _ in range(3)]
        self.assertEqual([(p.payload, p.pid, p.dup, p.qos) for p in again],
                         [(p.payload, p.pid, True, 1) for p in first])
        for p in again:
            c2.send(m.ack(m.PUBACK, p.pid))
        c2.ping()

    def test_unacked_qos2_publish_resent_with_dup_on_reconnect(self):
        c = self.connected('redeliver-2', clean=False)
        c.subscribe([('rd/2', 2)])
        self.connected().publish('rd/2', b'q2', qos=2)
        first = c.recv_publish()
        c.close()
        c2 = self.resume('redeliver-2')
        again = c2.recv_publish()
        self.assertEqual((again.payload, again.pid, again.dup, again.qos),
                         (b'q2', first.pid, True, 2))

    def test_pubrel_resent_on_reconnect_after_pubrec_without_pubcomp(self):
        c = self.connected('redeliver-rel', clean=False)
        c.subscribe([('rd/rel', 2), ('marker/end', 1)])
        pub = self.connected()
        pub.publish('rd/rel', b'q2', qos=2)
        msg = c.recv_publish()
        c.send(m.ack(m.PUBREC, msg.pid))
        self.assertEqual(c.expect(m.PUBREL).pid, msg.pid)
        c.close()  # no PUBCOMP
        c2 = self.resume('redeliver-rel')
        rel = c2.expect(m.PUBREL)
        self.assertEqual((rel.pid, rel.flags), (msg.pid, 2))
        c2.send(m.ack(m.PUBCOMP, msg.pid))
        self.assertEqual(self.publishes_before_marker(c2, pub), [])

    def test_publisher_qos2_state_survives_reconnect_pubrel_completes(self):
        pub = self.connected('pub-rel', clean=False)
        sub = self.subscribed([('pr', 2), ('marker/end', 1)])
        pub.send(m.publish('pr', b'x', qos=2, pid=5))
        pub.expect(m.PUBREC)
        pub.close()
        pub2 = self.resume('pub-rel')
        pub2.send(m.ack(m.PUBREL, 5))
        self.assertEqual(pub2.expect(m.PUBCOMP).pid, 5)
        got = self.publishes_before_marker(sub, pub2)
        self.assertEqual([p.payload for p in got], [b'x'])


if __name__ == '__main__':
    unittest.main()
