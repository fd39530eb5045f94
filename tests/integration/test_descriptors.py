"""Clients beyond the process's open-file limit: each shard's io_uring file table holds clients as
direct descriptors (broker/net/client_socket.h), so a broker whose hard limit is 300 serves
several hundred clients, moves them between shards, and spills into process descriptors when a
table is nearly full."""
import json
import os
import resource
import subprocess
import unittest

import mqtt_raw as m
from broker import BrokerTest, telemq_only

BENCH = os.environ.get('TELEMQ_BENCH_BINARY',
                       '/work/main/build/release/bench/loadgen/telemq-bench')


class DescriptorTest(BrokerTest):
    broker_nofile = (300, 300)

    def serve_round(self, prefix, n, batch=None):
        """n clients connect (all at once, or `batch` at a time), subscribe each to its own topic
        and get one message there, then stay connected; returns them."""
        clients = []
        batch = batch or n
        while len(clients) < n:
            group = [self.client(timeout=10) for _ in range(min(batch, n - len(clients)))]
            for i, c in enumerate(group):
                c.send(m.connect('%s-%d' % (prefix, len(clients) + i)))
            for c in group:
                self.assertEqual(m.connack_codes(c.expect(m.CONNACK, 10)), (0, 0))
            clients += group
        for i, c in enumerate(clients):
            c.send(m.subscribe(1, [('%s/%d' % (prefix, i), 1)]))
        for c in clients:
            c.expect(m.SUBACK, 10)
        pub = self.connected(prefix + '-pub')
        pub.send(b''.join(m.publish('%s/%d' % (prefix, i), b'%d' % i) for i in range(n)))
        for i, c in enumerate(clients):
            self.assertEqual(c.recv_publish(10).payload, b'%d' % i)
        pub.close()
        return clients

    def process_sockets(self):
        """Sockets in the broker's descriptor table (/proc/<pid>/fd)."""
        fd_dir = '/proc/%d/fd' % self.broker.pid
        links = []
        for name in os.listdir(fd_dir):
            try:
                links.append(os.readlink(os.path.join(fd_dir, name)))
            except FileNotFoundError:
                pass  # closed meanwhile
        return sum(1 for link in links if link.startswith('socket:'))

    def leave(self, clients):
        for c in clients:
            c.send(m.disconnect())
        for c in clients:
            self.assertTrue(c.closed_within(5))
            c.close()


@telemq_only('io_uring direct descriptors')
class TwoShardsTest(DescriptorTest):
    broker_flags = {'max-connections': 1000, 'threads': 2}

    def test_start_up_line_counts_the_tables_in_the_room_for_clients(self):
        self.assertTrue(self.log_contains('direct_descriptors(300)'))
        self.assertTrue(self.log_contains(
            'leaves room for about 644 clients (600 in io_uring file tables), fewer than '
            '--max-connections 1000'))

    def test_client_sockets_are_not_in_the_process_descriptor_table(self):
        clients = self.serve_round('pt', 50)
        self.assertLess(self.process_sockets(), 10)  # the listeners, not the 50 clients
        self.leave(clients)

    def test_more_clients_than_process_descriptors_are_served_across_shards(self):
        # About 200 per shard: within each table, beyond the process's 300 descriptors. Half
        # the client ids belong to the other shard than the one that accepted them, so their
        # sockets move between the rings (MSG_RING).
        clients = self.serve_round('dd', 400)
        self.leave(clients)
        # The slots were freed: a second round of as many clients fits again.
        self.leave(self.serve_round('de', 400))
        self.assertFalse(self.log_contains('cannot move connection', timeout=0))
        self.assert_serving()

    def test_load_generator_holds_more_connections_than_its_own_open_file_limit(self):
        # telemq-bench past its open-file limit (200 here): each of its 4 workers takes a
        # descriptor table of its own, so 400 idle connections are held from one process.
        if not os.path.exists(BENCH):
            self.skipTest('telemq-bench is not built')
        report_path = os.path.join(self.broker.dir, 'idle.json')
        # ThreadSanitizer keys what it knows of a descriptor by its number, which the workers'
        # tables reuse independently: under TSan it would report races between unrelated
        # sockets.
        env = dict(os.environ, TSAN_OPTIONS=os.environ.get('TSAN_OPTIONS', '') + ':report_bugs=0')
        run = subprocess.run(
            [BENCH, '--port', str(self.port), '--preset', 'idle', '--connections', '400',
             '--threads', '4', '--duration', '1', '--json', report_path],
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200)),
            env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        with open(report_path) as f:
            report = json.load(f)
        self.assertEqual((report['held_connections'], report['connect_failures']), (400, 0))
        self.assert_serving()


@telemq_only('io_uring direct descriptors')
class OneShardTest(DescriptorTest):
    broker_flags = {'max-connections': 1000, 'threads': 1}

    def test_a_nearly_full_table_spills_into_process_descriptors_and_refills_after_closes(self):
        # Connecting 16 at a time, fewer than the free slots at which the accept switches (37 of
        # this 300-slot table), no connection meets a full table. (A burst larger than that
        # margin may: the kernel then drops the one connection it could not install, and the
        # broker logs it.)
        clients = self.serve_round('sp', 400, batch=16)
        self.assertTrue(self.log_contains('accepting into process descriptors'))
        self.assertFalse(self.log_contains('a connection was dropped', timeout=0))
        # Most of the first 200 hold table slots: once they leave, accepts go back to it.
        self.leave(clients[:200])
        self.leave(self.serve_round('sq', 150, batch=16))
        self.assertTrue(self.log_contains('accepting into direct descriptors again'))
        self.leave(clients[200:])
        self.assert_serving()


@telemq_only('io_uring direct descriptors')
class DirectDescriptorsOffTest(DescriptorTest):
    broker_flags = {'max-connections': 1000, 'threads': 1, 'direct-descriptors': 'false'}

    def test_clients_are_process_descriptors_and_the_room_is_the_open_file_limit(self):
        self.assertFalse(self.log_contains('direct_descriptors(', timeout=0))
        self.assertTrue(self.log_contains(
            'leaves room for about 44 clients (0 in io_uring file tables), fewer than '
            '--max-connections 1000'))
        clients = self.serve_round('pd', 50)
        self.assertGreaterEqual(self.process_sockets(), 50)
        self.leave(clients)
        self.assert_serving()


if __name__ == '__main__':
    unittest.main()
