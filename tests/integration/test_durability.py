"""Durability across restarts and crashes (docs/persistence.md): persistent sessions, their
subscriptions and owed messages, unacknowledged deliveries and retained messages survive a
graceful stop and a kill -9; clean sessions do not; the data directory is locked."""
import os
import subprocess
import time
import unittest

import mqtt_raw as m
from broker import BINARY, BrokerTest, telemq_only


class DurableTestBase(BrokerTest):
    """Helpers: persistent sessions, restarts, crashes."""

    def offline(self, client_id, filters, version=m.V311):
        """A persistent session subscribed to filters, disconnected normally."""
        c = self.client(version)
        kw = {'properties': [(m.SESSION_EXPIRY, 3600)]} if version == m.V5 else {}
        self.assertEqual(m.connack_codes(c.connect(client_id, clean=False, **kw))[1], 0)
        c.subscribe(filters)
        c.send(m.disconnect(version))
        self.assertTrue(c.closed_within(2))

    def reconnect_after(self, crash):
        if crash:
            self.broker.kill()
        self.broker.restart()
        self.port = self.broker.port

    def resume(self, client_id, version=m.V311):
        c = self.client(version)
        kw = {'properties': [(m.SESSION_EXPIRY, 3600)]} if version == m.V5 else {}
        self.assertEqual(m.connack_codes(c.connect(client_id, clean=False, **kw)), (1, 0))
        return c

    def publish_acked(self, topic, payloads, qos=1, retain=False):
        """Publishes each payload and waits for its acknowledgement."""
        pub = self.connected()
        for i, p in enumerate(payloads):
            pub.publish(topic, p, qos=qos, pid=i + 1, retain=retain)
        pub.close()


@telemq_only('mosquitto here runs with persistence false')
class DurabilityTest(DurableTestBase):
    def check_offline_queue_survives(self, crash, version=m.V311):
        self.offline('dur-sub', [('dur/#', 1)], version)
        payloads = [b'm%d' % i for i in range(50)]
        self.publish_acked('dur/a', payloads)
        self.reconnect_after(crash)
        c = self.resume('dur-sub', version)
        got = [p.payload for p in self.receive(c, len(payloads))]
        self.assertEqual(got, payloads)

    def test_offline_queue_survives_a_graceful_restart(self):
        self.check_offline_queue_survives(crash=False)

    def test_every_acknowledged_qos1_message_survives_kill_9(self):
        self.check_offline_queue_survives(crash=True)

    def test_mqtt5_session_with_expiry_survives_kill_9(self):
        self.check_offline_queue_survives(crash=True, version=m.V5)

    def test_qos2_messages_survive_kill_9(self):
        self.offline('dur-q2', [('q2/#', 2)])
        pub = self.connected()
        for i in range(10):
            pub.publish('q2/x', b'%d' % i, qos=2, pid=i + 1)
        self.reconnect_after(crash=True)
        c = self.resume('dur-q2')
        got = self.receive(c, 10)
        self.assertEqual([p.payload for p in got], [b'%d' % i for i in range(10)])
        self.assertTrue(all(p.qos == 2 for p in got))

    def test_a_qos2_delivery_keeps_its_packet_id_across_kill_9(self):
        """Exactly once across crashes: a QoS 2 PUBLISH the client received comes back with
        the same packet id and DUP; once the client sent PUBREC, what comes back after a
        crash is the PUBREL, never the message again."""
        c = self.connected('dur-q2out', clean=False)
        c.subscribe([('q2o/#', 2)])
        self.connected().publish('q2o/x', b'once', qos=2, pid=1)
        first = c.recv_publish()
        self.assertEqual((first.payload, first.qos, first.dup), (b'once', 2, False))
        self.reconnect_after(crash=True)
        c = self.resume('dur-q2out')
        again = c.recv_publish()
        self.assertEqual((again.payload, again.pid, again.dup), (b'once', first.pid, True))
        c.send(m.ack(m.PUBREC, first.pid))
        self.assertEqual(c.expect(m.PUBREL).pid, first.pid)
        self.reconnect_after(crash=True)
        c = self.resume('dur-q2out')
        self.assertEqual(c.expect(m.PUBREL).pid, first.pid)
        c.send(m.ack(m.PUBCOMP, first.pid))
        # Nothing else is owed: a new message is the next packet.
        self.connected().publish('q2o/next', b'next', qos=2, pid=2)
        self.assertEqual(c.recv_publish().payload, b'next')

    def test_subscriptions_survive_kill_9(self):
        self.offline('dur-subs', [('s/a', 1), ('s/b/+', 1)])
        self.reconnect_after(crash=True)
        c = self.resume('dur-subs')
        pub = self.connected()
        pub.publish('s/b/x', b'live', qos=1)
        msg = c.recv_publish()
        self.assertEqual((msg.topic, msg.payload), ('s/b/x', b'live'))

    def test_unacknowledged_delivery_is_redelivered_after_kill_9(self):
        c = self.connected('dur-unacked', clean=False)
        c.subscribe([('u/#', 1)])
        pub = self.connected()
        pub.publish('u/1', b'not acked', qos=1)
        msg = c.recv_publish()  # received, never acknowledged
        self.assertEqual(msg.payload, b'not acked')
        self.reconnect_after(crash=True)
        c2 = self.resume('dur-unacked')
        again = c2.recv_publish()
        self.assertEqual(again.payload, b'not acked')

    def test_acknowledged_deliveries_are_not_redelivered_after_a_graceful_restart(self):
        c = self.connected('dur-acked', clean=False)
        c.subscribe([('a/#', 1), ('marker/end', 1)])
        pub = self.connected()
        for i in range(20):
            pub.publish('a/x', b'%d' % i, qos=1, pid=i + 1)
        self.receive(c, 20)  # acknowledges every one
        c.send(m.disconnect())
        self.assertTrue(c.closed_within(2))
        self.reconnect_after(crash=False)
        c2 = self.resume('dur-acked')
        self.assertEqual(self.publishes_before_marker(c2, self.connected()), [])

    def test_retained_messages_survive_kill_9(self):
        self.publish_acked('ret/a', [b'first', b'second'], retain=True)
        self.publish_acked('ret/b', [b'kept'], retain=True)
        self.publish_acked('ret/c', [b'gone', b''], retain=True)  # cleared
        self.reconnect_after(crash=True)
        sub = self.connected()
        sub.subscribe([('ret/#', 1)])
        got = sorted((p.topic, p.payload, p.retain) for p in self.receive(sub, 2))
        self.assertEqual(got, [('ret/a', b'second', True), ('ret/b', b'kept', True)])
        self.assertEqual(self.publishes_before_marker(sub, self.connected(), 'ret/marker'), [])

    def test_clean_sessions_do_not_survive(self):
        c = self.connected('dur-clean', clean=True)
        c.subscribe([('c/#', 1)])
        self.reconnect_after(crash=True)
        c2 = self.client()
        self.assertEqual(m.connack_codes(c2.connect('dur-clean', clean=False)), (0, 0))

    def test_a_session_ended_by_clean_start_stays_ended_after_kill_9(self):
        self.offline('dur-ended', [('e/#', 1)])
        c = self.connected('dur-ended', clean=True)
        c.send(m.disconnect())
        self.assertTrue(c.closed_within(2))
        self.reconnect_after(crash=True)
        c2 = self.client()
        self.assertEqual(m.connack_codes(c2.connect('dur-ended', clean=False)), (0, 0))

    def test_restart_with_a_different_thread_count_keeps_sessions(self):
        self.offline('dur-threads', [('t/#', 1)])
        self.publish_acked('t/x', [b'one', b'two'])
        self.broker.kill()
        self.broker.flags['threads'] = 1
        self.broker.restart()
        self.port = self.broker.port
        c = self.resume('dur-threads')
        self.assertEqual([p.payload for p in self.receive(c, 2)], [b'one', b'two'])

    def test_a_second_broker_on_the_same_data_directory_is_refused(self):
        data = os.path.join(self.broker.dir, 'data')
        r = subprocess.run([BINARY, '--port', '0', '--data-dir', data], capture_output=True,
                           timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'in use by another telemq', r.stderr)


def partition_bytes(data_dir):
    """Bytes of every segment file under data_dir (all partitions)."""
    total = 0
    for root, _, files in os.walk(data_dir):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files if f.endswith('.log'))
    return total


@telemq_only('log retention')
class RetentionTest(DurableTestBase):
    broker_flags = {'threads': 1, 'segment-mb': 1, 'retention-mb': 2, 'retention-check-s': 1}

    def publish_mb(self, topic, mb, client_id='ret-pub'):
        pub = self.connected(client_id)
        payload = b'x' * 1000
        for i in range(mb * 1000):
            pub.send(m.publish(topic, payload, 1, i % 65535 + 1))
            if i % 100 == 99:
                for _ in range(100):
                    pub.expect(m.PUBACK)
        pub.close()

    def wait_for_size(self, below, timeout=15.0):
        data = os.path.join(self.broker.dir, 'data')
        deadline = time.monotonic() + timeout
        while partition_bytes(data) >= below:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)  # polling the directory with a deadline
        return True

    def test_old_segments_are_deleted_and_the_state_survives_in_checkpoints(self):
        self.publish_acked('keep/retained', [b'still here'], retain=True)
        self.offline('ret-sub', [('other/#', 1)])
        self.publish_mb('bulk/data', 8)
        self.assertTrue(self.wait_for_size(4 << 20), 'retention did not trim the log')
        self.assertTrue(self.log_contains('retention deleted'))
        self.reconnect_after(crash=True)
        c = self.resume('ret-sub')  # its session record was in a deleted segment
        c.subscribe([('keep/#', 1)])
        msg = c.recv_publish()
        self.assertEqual((msg.topic, msg.payload, msg.retain), ('keep/retained', b'still here', 1))

    def test_what_an_offline_session_still_needs_is_kept(self):
        self.offline('ret-backlog', [('bulk/#', 1)])
        self.publish_mb('bulk/data', 5)
        # Give retention a few rounds: it must keep the backlog and say why.
        self.assertTrue(self.log_contains('persistent sessions still need them', timeout=10))
        self.reconnect_after(crash=True)
        c = self.resume('ret-backlog')
        got = self.receive(c, 5000, timeout=30)
        self.assertEqual(len(got), 5000)
        self.assertEqual(got[-1].payload, b'x' * 1000)


@telemq_only('backlogs kept in the log')
class LogBackedBacklogTest(DurableTestBase):
    """An offline backlog beyond --max-queued-messages stays in the log and is read back."""

    broker_flags = {'max-queued-messages': 100}

    def publish_many(self, topic, n, client_id='bl-pub'):
        pub = self.connected(client_id)
        for i in range(n):
            pub.send(m.publish(topic, b'%d' % i, 1, i % 65535 + 1))
            if i % 100 == 99:
                for _ in range(100):
                    pub.expect(m.PUBACK)
        for _ in range(n % 100):
            pub.expect(m.PUBACK)
        pub.close()

    def check_backlog(self, crash):
        self.offline('bl-sub', [('bl/#', 1)])
        self.publish_many('bl/x', 1000)
        self.assertTrue(self.log_contains('its backlog continues in the log'))
        if crash is not None:
            self.reconnect_after(crash)
        c = self.resume('bl-sub')
        got = [p.payload for p in self.receive(c, 1000, timeout=20)]
        self.assertEqual(got, [b'%d' % i for i in range(1000)])

    def test_a_backlog_ten_times_the_queue_limit_arrives_whole_and_in_order(self):
        self.check_backlog(crash=None)

    def test_a_spilled_backlog_survives_kill_9(self):
        self.check_backlog(crash=True)

    def test_live_messages_published_during_the_drain_come_after_the_backlog(self):
        self.offline('bl-live', [('bl/#', 1)])
        self.publish_many('bl/x', 500)
        c = self.resume('bl-live')
        first = self.receive(c, 10)
        live = self.connected('bl-live-pub')
        live.publish('bl/x', b'live', qos=1)
        rest = self.receive(c, 491, timeout=20)
        payloads = [p.payload for p in first + rest]
        self.assertEqual(payloads, [b'%d' % i for i in range(500)] + [b'live'])


@telemq_only('replay is a telemq extension')
class ReplayTest(DurableTestBase):
    """A 5.0 SUBSCRIBE with the user property replay-from gets the logged history first."""

    def replay_subscribe(self, c, filters, since):
        return c.subscribe(filters, properties=[(m.USER_PROPERTY, ('replay-from', since))])

    def test_replay_delivers_history_from_every_shard_in_time_order_then_live(self):
        # Publishers with different client ids land on different shards (threads 2).
        for i in range(20):
            pub = self.connected('hist-pub-%d' % (i % 4))
            pub.publish('hist/%d' % (i % 4), b'%d' % i, qos=1)
            pub.close()
        c = self.connected('hist-sub', version=m.V5)
        self.assertEqual(self.replay_subscribe(c, [('hist/#', 1)], '-1h'), [1])
        got = [p.payload for p in self.receive(c, 20)]
        self.assertEqual(got, [b'%d' % i for i in range(20)])
        live = self.connected('hist-live')
        live.publish('hist/9', b'live', qos=1)
        self.assertEqual(c.recv_publish().payload, b'live')

    def test_replay_survives_a_restart(self):
        self.publish_acked('old/x', [b'a', b'b'])
        self.reconnect_after(crash=True)
        c = self.connected('hist-sub2', version=m.V5)
        self.replay_subscribe(c, [('old/#', 1)], '-1h')
        self.assertEqual([p.payload for p in self.receive(c, 2)], [b'a', b'b'])

    def test_replay_from_a_time_skips_older_messages(self):
        self.publish_acked('t/x', [b'before'])
        since = '%.6f' % time.time()
        self.publish_acked('t/x', [b'after'])
        c = self.connected('hist-sub3', version=m.V5)
        c.subscribe([('t/#', 1), ('marker/end', 1)],
                    properties=[(m.USER_PROPERTY, ('replay-from', since))])
        got = self.publishes_before_marker(c, self.connected('marker-pub'))
        self.assertEqual([p.payload for p in got], [b'after'])

    def test_a_bad_replay_from_refuses_the_subscribe(self):
        c = self.connected('hist-bad', version=m.V5)
        self.assertEqual(self.replay_subscribe(c, [('x/#', 1)], 'last tuesday'), [0x83])


class ModeTest(BrokerTest):
    def queue_for(self, client_id, n):
        c = self.connected(client_id, clean=False)
        c.subscribe([('md/#', 1)])
        c.close()
        pub = self.connected()
        for i in range(n):
            pub.publish('md/x', b'%d' % i, qos=1, pid=i + 1)

    def drain(self, client_id, n):
        self.port = self.broker.port
        c = self.client()
        self.assertEqual(m.connack_codes(c.connect(client_id, clean=False)), (1, 0))
        self.assertEqual([p.payload for p in self.receive(c, n)], [b'%d' % i for i in range(n)])


@telemq_only('durability modes')
class BatchModeTest(ModeTest):
    broker_flags = {'durability': 'batch', 'durability-batch-ms': 5}

    def test_batch_mode_keeps_messages_across_a_graceful_restart(self):
        self.queue_for('batch-sub', 20)
        self.broker.restart()
        self.drain('batch-sub', 20)

    def test_batch_mode_keeps_acknowledged_messages_across_kill_9(self):
        self.queue_for('batch-sub', 50)
        self.broker.kill()  # the page cache keeps what was written before the PUBACK
        self.broker.restart()
        self.drain('batch-sub', 50)


@telemq_only('durability modes')
class NoneModeTest(ModeTest):
    broker_flags = {'durability': 'none'}

    def test_none_mode_keeps_messages_across_a_graceful_restart(self):
        self.queue_for('none-sub', 20)
        self.broker.restart()  # a graceful stop writes and syncs what is pending
        self.drain('none-sub', 20)


class BadDurabilityTest(unittest.TestCase):
    @telemq_only('telemq flags')
    def test_bad_durability_value_is_refused(self):
        r = subprocess.run([BINARY, '--durability', 'maybe'], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"'maybe' is not one of sync, batch, none", r.stderr)


if __name__ == '__main__':
    unittest.main()
