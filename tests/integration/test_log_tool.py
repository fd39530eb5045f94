"""telemq-log on a real data directory: list, verify (and damage found), dump, export."""
import json
import os
import subprocess
import time
import unittest

import mqtt_raw as m
from broker import BINARY, BrokerTest, telemq_only

TOOL = os.environ.get('TELEMQ_LOG_BINARY',
                      os.path.join(os.path.dirname(BINARY), 'tools', 'telemq-log'))


@telemq_only('telemq-log reads telemq data directories')
class LogToolTest(BrokerTest):
    broker_flags = {'threads': 1}

    def setUp(self):
        super().setUp()
        pub = self.connected('tool-pub')
        pub.publish('plant/1/temp', b'21.5', qos=1)
        pub.publish('plant/2/temp', b'\x00\xff', qos=1, pid=2)
        pub.publish('other', b'x', qos=1, pid=3)
        pub.close()
        self.broker.stop()
        self.data = os.path.join(self.broker.dir, 'data')

    def tool(self, *args):
        return subprocess.run([TOOL] + list(args), capture_output=True, timeout=30, text=True)

    def segment(self):
        p0 = os.path.join(self.data, 'p0')
        return os.path.join(p0, sorted(f for f in os.listdir(p0) if f.endswith('.log'))[0])

    def test_list_shows_each_segment_with_its_offsets(self):
        r = self.tool('list', self.data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('partition 0', r.stdout)
        # The start-up checkpoint (2 records) and the 3 messages.
        self.assertIn('offsets [0, 5)', r.stdout)

    def test_verify_passes_an_intact_log(self):
        r = self.tool('verify', self.data)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('0 damaged', r.stdout)

    def test_verify_reports_a_damaged_payload_with_its_position(self):
        path = self.segment()
        with open(path, 'r+b') as f:
            data = f.read()
            at = data.index(b'21.5')  # inside the payload of the first message's batch
            f.seek(at)
            f.write(b'99.9')
        r = self.tool('verify', self.data)
        self.assertEqual(r.returncode, 1)
        self.assertIn('DAMAGED', r.stdout)
        self.assertRegex(r.stdout, r'payload crc mismatch at byte [1-9][0-9]*')

    def test_verify_holds_a_closed_segment_to_what_recovery_keeps(self):
        path = self.segment()  # offsets [0, 5)
        with open(path, 'ab') as f:
            f.write(b'\0' * 4096)  # the zeroes of a preparation after its data
        successor = os.path.join(os.path.dirname(path), '%020d.log' % 5)
        open(successor, 'wb').close()
        # Its successor starts at its end: the truncation after a roll was lost; recovery redoes it.
        r = self.tool('verify', self.data)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Records missing before the successor's base: recovery quarantines it.
        os.rename(successor, os.path.join(os.path.dirname(path), '%020d.log' % 9))
        r = self.tool('verify', self.data)
        self.assertEqual(r.returncode, 1)
        self.assertIn("records stop at offset 5, before the next segment's 9 (recovery quarantines it)",
                      r.stdout)
        self.assertIn('DAMAGED', self.tool('list', self.data).stdout)
        r = self.tool('dump', self.data)
        self.assertEqual(r.returncode, 1)
        self.assertIn('(recovery quarantines it) (records after it are not shown)', r.stderr)
        with open(path, 'ab') as f:
            f.write(b'junk')
        r = self.tool('verify', self.data)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r'zeroes then other bytes from byte [1-9][0-9]* of a closed segment')

    def test_dump_decodes_every_record(self):
        r = self.tool('dump', self.data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('message topic=plant/1/temp qos=1', r.stdout)
        self.assertIn('payload=21.5', r.stdout)
        self.assertIn('payload=base64:AP8=', r.stdout)

    def test_dump_shows_an_outbound_qos2_flow(self):
        self.broker.restart()
        self.port = self.broker.port
        sub = self.connected('tool-q2', clean=False)
        sub.subscribe([('q2/#', 2)])
        self.connected().publish('q2/x', b'v', qos=2, pid=1)
        msg = sub.recv_publish()
        sub.send(m.ack(m.PUBREC, msg.pid))
        sub.expect(m.PUBREL)
        sub.send(m.ack(m.PUBCOMP, msg.pid))
        sub.ping()  # answered after the PUBCOMP was handled
        self.broker.stop()
        r = self.tool('dump', self.data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('qos2-out client=tool-q2 packet_id=%d message=0:' % msg.pid, r.stdout)
        self.assertIn('qos2-out client=tool-q2 packet_id=%d released' % msg.pid, r.stdout)
        self.assertIn('qos2-out-complete client=tool-q2 packet_id=%d' % msg.pid, r.stdout)

    def test_export_writes_json_lines_filtered_by_topic(self):
        r = self.tool('export', self.data, '--topic', 'plant/+/temp')
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual([x['topic'] for x in lines], ['plant/1/temp', 'plant/2/temp'])
        self.assertEqual(lines[0]['payload'], '21.5')
        self.assertEqual(lines[1]['payload_base64'], 'AP8=')
        self.assertLess(lines[0]['time_ns'], lines[1]['time_ns'] + 1)

    def test_export_filters_by_time(self):
        r = self.tool('export', self.data, '--to', '2000-01-01T00:00:00Z')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, '')

    def test_bad_command_line_exits_2(self):
        self.assertEqual(self.tool('explode', self.data).returncode, 2)
        self.assertEqual(self.tool('export', self.data, '--from', 'yesterday').returncode, 2)
        # Beyond what broker time holds (years 1678-2262), or not a number.
        self.assertEqual(self.tool('export', self.data, '--from', '1e300').returncode, 2)
        self.assertEqual(self.tool('export', self.data, '--to', 'nan').returncode, 2)
        r = self.tool('export', self.data, '--topic', 'plant/#/temp')
        self.assertEqual(r.returncode, 2)
        self.assertIn('--topic plant/#/temp', r.stderr)


def rfc3339(ns):
    """A broker time to the nanosecond (a float of seconds would round it)."""
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(ns // 10**9)) + '.%09dZ' % (ns % 10**9)


@telemq_only('telemq-log reads telemq data directories')
class LogToolTwoPartitionsTest(BrokerTest):
    broker_flags = {'threads': 2}

    def test_export_merges_the_partitions_in_time_order(self):
        # Each publisher's messages go to its own shard's partition; one after the other, each
        # acknowledged (durable) before the next, so their broker times increase.
        for i in range(8):
            pub = self.connected('merge-%d' % i)
            pub.publish('m/%d' % i, b'%d' % i, qos=1)
            pub.close()
        self.broker.stop()
        data = os.path.join(self.broker.dir, 'data')
        run = lambda *args: subprocess.run([TOOL, 'export', data] + list(args), capture_output=True,
                                           timeout=30, text=True)
        r = run('--topic', 'm/#')
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual([x['payload'] for x in lines], [str(i) for i in range(8)])
        self.assertEqual({x['partition'] for x in lines}, {0, 1})
        r = run('--topic', 'm/#', '--from', rfc3339(lines[3]['time_ns']), '--limit', '2')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([json.loads(line)['payload'] for line in r.stdout.splitlines()], ['3', '4'])
        r = run('--topic', 'm/#', '--to', rfc3339(lines[2]['time_ns']))
        self.assertEqual([json.loads(line)['payload'] for line in r.stdout.splitlines()], ['0', '1'])


if __name__ == '__main__':
    unittest.main()
