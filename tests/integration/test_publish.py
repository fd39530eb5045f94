"""PUBLISH flows at QoS 0, 1 and 2 from both sides, QoS downgrade, exactly-once and ordering
(MQTT 3.1.1 sections 3.3-3.7, 4.3, 4.6)."""
import os
import unittest

import mqtt_raw as m
from broker import BrokerTest
from paho_client import PahoClient


class PublishTest(BrokerTest):
    def test_qos0_publish_is_delivered_to_subscriber(self):
        sub = self.subscribed([('p/0', 0)])
        pub = self.connected()
        self.assertEqual(pub.publish('p/0', b'hello', qos=0), [])
        msg = sub.recv_publish()
        self.assertEqual((msg.topic, msg.payload, msg.qos, msg.pid, msg.dup, msg.retain),
                         ('p/0', b'hello', 0, None, False, False))

    def test_qos1_publisher_gets_puback_with_same_packet_id(self):
        pub = self.connected()
        [puback] = pub.publish('p/1', b'x', qos=1, pid=4242)
        self.assertEqual((puback.pid, puback.flags, len(puback.body)), (4242, 0, 2))

    def test_qos2_publisher_flow_pubrec_pubrel_pubcomp(self):
        pub = self.connected()
        pub.send(m.publish('p/2', b'x', qos=2, pid=77))
        rec = pub.expect(m.PUBREC)
        self.assertEqual((rec.pid, rec.flags), (77, 0))
        pub.send(m.ack(m.PUBREL, 77))
        comp = pub.expect(m.PUBCOMP)
        self.assertEqual((comp.pid, comp.flags), (77, 0))

    def test_qos1_subscriber_receives_packet_id_and_no_resend_after_puback(self):
        sub = self.subscribed([('p/1', 1), ('marker/end', 1)])
        pub = self.connected()
        pub.publish('p/1', b'one', qos=1)
        msg = sub.recv_publish()
        self.assertEqual((msg.qos, msg.dup, msg.payload), (1, False, b'one'))
        self.assertNotEqual(msg.pid, 0)
        sub.send(m.ack(m.PUBACK, msg.pid))
        self.assertEqual(self.publishes_before_marker(sub, pub), [])

    def test_qos2_subscriber_flow_pubrec_pubrel_pubcomp(self):
        sub = self.subscribed([('p/2', 2), ('marker/end', 1)])
        pub = self.connected()
        pub.publish('p/2', b'two', qos=2)
        msg = sub.recv_publish()
        self.assertEqual((msg.qos, msg.payload), (2, b'two'))
        sub.send(m.ack(m.PUBREC, msg.pid))
        rel = sub.expect(m.PUBREL)
        self.assertEqual((rel.pid, rel.flags), (msg.pid, 2))
        sub.send(m.ack(m.PUBCOMP, msg.pid))
        self.assertEqual(self.publishes_before_marker(sub, pub), [])

    def test_qos2_publish_to_qos1_subscription_arrives_as_qos1(self):
        sub = self.subscribed([('down/1', 1)])
        pub = self.connected()
        pub.publish('down/1', b'x', qos=2)
        msg = sub.recv_publish()
        self.assertEqual(msg.qos, 1)
        sub.send(m.ack(m.PUBACK, msg.pid))

    def test_qos1_publish_to_qos0_subscription_arrives_as_qos0(self):
        sub = self.subscribed([('down/0', 0)])
        pub = self.connected()
        pub.publish('down/0', b'x', qos=1)
        msg = sub.recv_publish()
        self.assertEqual((msg.qos, msg.pid), (0, None))

    def test_qos0_publish_to_qos2_subscription_stays_qos0(self):
        sub = self.subscribed([('up/2', 2)])
        pub = self.connected()
        pub.publish('up/2', b'x', qos=0)
        self.assertEqual(sub.recv_publish().qos, 0)

    def test_qos2_resent_publish_with_dup_before_pubrel_is_delivered_once(self):
        sub = self.subscribed([('once/2', 2), ('marker/end', 1)])
        pub = self.connected()
        pub.send(m.publish('once/2', b'exactly', qos=2, pid=9))
        pub.expect(m.PUBREC)
        pub.send(m.publish('once/2', b'exactly', qos=2, pid=9, dup=True))
        self.assertEqual(pub.expect(m.PUBREC).pid, 9)
        pub.send(m.ack(m.PUBREL, 9))
        self.assertEqual(pub.expect(m.PUBCOMP).pid, 9)
        got = self.publishes_before_marker(sub, pub)
        self.assertEqual([(p.topic, p.payload) for p in got], [('once/2', b'exactly')])

    def test_qos1_message_order_per_topic_preserved_for_200_messages(self):
        sub = self.subscribed([('order/1', 1)])
        pub = self.connected()
        for i in range(200):
            pub.send(m.publish('order/1', b'%d' % i, qos=1, pid=i + 1))
        acks = [pub.expect(m.PUBACK).pid for _ in range(200)]
        self.assertEqual(sorted(acks), list(range(1, 201)))
        got = []
        for _ in range(200):
            msg = sub.recv_publish()
            sub.send(m.ack(m.PUBACK, msg.pid))
            got.append(int(msg.payload))
        self.assertEqual(got, list(range(200)))

    def test_qos0_message_order_per_topic_preserved(self):
        sub = self.subscribed([('order/0', 0)])
        pub = self.connected()
        pub.send(b''.join(m.publish('order/0', b'%d' % i) for i in range(200)))
        self.assertEqual([int(sub.recv_publish().payload) for _ in range(200)], list(range(200)))

    def test_binary_payload_of_64_kib_is_delivered_unchanged(self):
        sub = self.subscribed([('bin', 1)])
        pub = self.connected()
        payload = os.urandom(65536) + b'\x00\xff'
        pub.publish('bin', payload, qos=1)
        self.assertEqual(sub.recv_publish().payload, payload)

    def test_zero_length_payload_is_delivered(self):
        sub = self.subscribed([('empty', 0)])
        self.connected().publish('empty', b'')
        self.assertEqual(sub.recv_publish().payload, b'')

    def test_publisher_subscribed_to_its_topic_receives_its_own_message(self):
        c = self.subscribed([('self', 0)])
        c.publish('self', b'echo')
        self.assertEqual(c.recv_publish().payload, b'echo')

    def test_fan_out_to_every_subscriber(self):
        subs = [self.subscribed([('fan', 1)]) for _ in range(5)]
        self.connected().publish('fan', b'all', qos=1)
        for s in subs:
            self.assertEqual(s.recv_publish().payload, b'all')

    def test_paho_client_roundtrip_at_qos_0_1_2(self):
        sub = PahoClient(self.port, 'paho-sub')
        self.addCleanup(sub.close)
        pub = PahoClient(self.port, 'paho-pub')
        self.addCleanup(pub.close)
        self.assertEqual(sub.connect()[1], 0)
        self.assertEqual(pub.connect()[1], 0)
        self.assertEqual(list(sub.subscribe('paho/#', 2)), [2])
        for qos in (0, 1, 2):
            pub.publish('paho/q%d' % qos, b'q%d' % qos, qos)
            msg = sub.get()
            self.assertEqual((msg.topic, msg.payload, msg.qos), ('paho/q%d' % qos, b'q%d' % qos, qos))


if __name__ == '__main__':
    unittest.main()
