"""Retained messages and will messages (MQTT 3.1.1 sections 3.1.2.5-3.1.2.7, 3.3.1.3)."""
import unittest

import mqtt_raw as m
from broker import BrokerTest, mosquitto_deviates


class RetainedTest(BrokerTest):
    def test_retained_message_delivered_on_subscribe_with_retain_1(self):
        self.connected().publish('r/a', b'kept', qos=1, retain=True)
        sub = self.subscribed([('r/a', 1)])
        msg = self.receive(sub, 1)[0]
        self.assertEqual((msg.topic, msg.payload, msg.retain, msg.qos), ('r/a', b'kept', True, 1))

    def test_retained_message_qos_is_min_of_published_and_granted(self):
        self.connected().publish('r/q', b'kept', qos=2, retain=True)
        sub = self.subscribed([('r/q', 1)])
        self.assertEqual(self.receive(sub, 1)[0].qos, 1)

    def test_retained_message_replaced_by_newer_one(self):
        pub = self.connected()
        pub.publish('r/b', b'old', qos=1, retain=True)
        pub.publish('r/b', b'new', qos=1, pid=2, retain=True)
        sub = self.subscribed([('r/b', 0), ('marker/end', 1)])
        got = self.publishes_before_marker(sub, pub)
        self.assertEqual([(p.payload, p.retain) for p in got], [(b'new', True)])

    def test_retained_message_cleared_by_empty_payload(self):
        pub = self.connected()
        pub.publish('r/c', b'kept', qos=1, retain=True)
        pub.publish('r/c', b'', qos=1, pid=2, retain=True)
        sub = self.subscribed([('r/c', 0), ('marker/end', 1)])
        self.assertEqual(self.publishes_before_marker(sub, pub), [])

    def test_retained_qos0_message_is_retained(self):
        pub = self.connected()
        pub.publish('r/q0', b'zero', retain=True)
        pub.ping()  # the PUBLISH was processed before the PINGREQ
        sub = self.subscribed([('r/q0', 0)])
        msg = sub.recv_publish()
        self.assertEqual((msg.payload, msg.retain), (b'zero', True))

    def test_normal_delivery_to_existing_subscriber_has_retain_0(self):
        sub = self.subscribed([('r/live', 1)])
        self.connected().publish('r/live', b'live', qos=1, retain=True)
        msg = self.receive(sub, 1)[0]
        self.assertEqual((msg.payload, msg.retain), (b'live', False))

    def test_empty_retained_publish_is_forwarded_to_existing_subscribers(self):
        sub = self.subscribed([('r/e', 0)])
        self.connected().publish('r/e', b'', qos=1, retain=True)
        msg = sub.recv_publish()
        self.assertEqual((msg.topic, msg.payload), ('r/e', b''))

    def test_wildcard_subscription_delivers_all_matching_retained_messages(self):
        pub = self.connected()
        for i, topic in enumerate(['w/a', 'w/b/c', 'w', 'x/a', 'w/a/b/c']):
            pub.publish(topic, topic.encode(), qos=1, pid=i + 1, retain=True)
        sub = self.subscribed([('w/#', 1), ('marker/end', 1)])
        got = self.publishes_before_marker(sub, pub)
        self.assertEqual(sorted(p.topic for p in got), ['w', 'w/a', 'w/a/b/c', 'w/b/c'])
        self.assertTrue(all(p.retain for p in got))
        sub2 = self.subscribed([('+/a', 0), ('marker/end', 1)])
        got = self.publishes_before_marker(sub2, pub)
        self.assertEqual(sorted(p.topic for p in got), ['w/a', 'x/a'])

    def test_retained_message_sent_again_on_resubscribe(self):
        self.connected().publish('r/again', b'v', qos=1, retain=True)
        sub = self.subscribed([('r/again', 0)])
        self.assertTrue(sub.recv_publish().retain)
        self.assertEqual(sub.subscribe([('r/again', 0)], pid=2), [0])
        self.assertTrue(sub.recv_publish().retain)


class WillTest(BrokerTest):
    WILL = {'topic': 'will/t', 'payload': b'offline'}

    def test_will_published_when_socket_closed_without_disconnect(self):
        watcher = self.subscribed([('will/#', 0)])
        c = self.connected('w-1', will=self.WILL)
        c.close()
        msg = watcher.recv_publish()
        self.assertEqual((msg.topic, msg.payload, msg.retain), ('will/t', b'offline', False))

    def test_will_published_on_keepalive_expiry(self):
        watcher = self.subscribed([('will/#', 0)])
        self.connected('w-ka', keepalive=1, will=self.WILL)
        msg = watcher.recv_publish(timeout=7)
        self.assertEqual(msg.payload, b'offline')

    @mosquitto_deviates('no will after it closes a connection for a second CONNECT (3.1.2.5 lists '
                        '"the Server closes the Network Connection because of a protocol error")')
    def test_will_published_when_connection_closed_for_protocol_violation(self):
        watcher = self.subscribed([('will/#', 0)])
        c = self.connected('w-bad', will=self.WILL)
        c.send(m.connect('w-bad'))  # second CONNECT: protocol violation
        self.assertEqual(watcher.recv_publish().payload, b'offline')

    def test_will_not_published_after_normal_disconnect(self):
        watcher = self.subscribed([('will/#', 0), ('marker/end', 1)])
        c = self.connected('w-2', will=self.WILL)
        c.send(m.disconnect())
        self.assertTrue(c.closed_within(2))
        self.assertEqual(self.publishes_before_marker(watcher, self.connected()), [])

    def test_will_retain_flag_honoured(self):
        watcher = self.subscribed([('will/t', 0)])
        c = self.connected('w-3', will=dict(self.WILL, retain=True))
        c.close()
        live = watcher.recv_publish()  # the will has been published
        self.assertEqual((live.payload, live.retain), (b'offline', False))
        msg = self.subscribed([('will/t', 0)]).recv_publish()
        self.assertEqual((msg.payload, msg.retain), (b'offline', True))

    def test_will_qos_honoured(self):
        watcher = self.subscribed([('will/#', 2)])
        c = self.connected('w-4', will=dict(self.WILL, qos=2))
        c.close()
        msg = watcher.recv_publish()
        self.assertEqual((msg.payload, msg.qos), (b'offline', 2))

    def test_will_published_on_session_takeover(self):
        watcher = self.subscribed([('will/#', 0)])
        self.connected('w-take', will=self.WILL)
        self.connected('w-take')
        self.assertEqual(watcher.recv_publish().payload, b'offline')


if __name__ == '__main__':
    unittest.main()
