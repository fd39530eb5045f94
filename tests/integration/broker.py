"""Starts and stops the broker under test, and the TestCase base class.

TELEMQ_TEST_BROKER selects the broker:
  telemq (default)  TELEMQ_BINARY (default /work/main/build/release/broker/telemq), run as
                    <binary> --host 127.0.0.1 --port 0 --port-file <tmp>/port
                             --data-dir <tmp>/data --threads <TELEMQ_THREADS or 2>
                             --log-level debug [--max-... N]
                    It writes the bound port into the port file (atomically) before accepting.
  mosquitto         /usr/sbin/mosquitto with a generated config on a free loopback port; used to
                    validate this suite. Tests of telemq-only behaviour skip under it.

Every test gets a fresh broker (retained messages and sessions never leak between tests). The
broker is always stopped, even when a test fails; its log tail is printed for a failed test.
"""
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import mqtt_raw

KIND = os.environ.get('TELEMQ_TEST_BROKER', 'telemq')
BINARY = os.environ.get('TELEMQ_BINARY', '/work/main/build/release/broker/telemq')
MOSQUITTO = os.environ.get('TELEMQ_MOSQUITTO', '/usr/sbin/mosquitto')
THREADS = os.environ.get('TELEMQ_THREADS', '2')
IS_MOSQUITTO = KIND == 'mosquitto'
# Wall-clock budget per test file: once spent, the file's remaining tests fail at once, so a broker
# that hangs or never answers fails a file in about a minute instead of hanging it.
FILE_BUDGET_S = float(os.environ.get('TELEMQ_TEST_FILE_BUDGET', '40'))
_file_start = {}

# telemq flag -> mosquitto config line (None: no equivalent).
_MOSQUITTO_LIMITS = {
    'max-packet-size': 'max_packet_size',
    'max-inflight': 'max_inflight_messages',
    'max-queued-messages': 'max_queued_messages',
    'max-connections': 'max_connections',
    'max-keepalive': 'max_keepalive',
}


class BrokerError(Exception):
    pass


class Broker:
    def __init__(self, flags=None, nofile=None):
        """nofile: (soft, hard) open-file limit to start the broker with (None: inherited)."""
        self.flags = dict(flags or {})
        self.nofile = nofile
        self.dir = tempfile.mkdtemp(prefix='telemq-it-')
        self.log_path = os.path.join(self.dir, 'broker.log')
        self.proc = None
        self.port = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=10.0):
        log = open(self.log_path, 'ab')
        if IS_MOSQUITTO:
            self.port = _free_port()
            conf = os.path.join(self.dir, 'mosquitto.conf')
            lines = ['listener %d 127.0.0.1' % self.port,
                     'allow_anonymous true', 'persistence false', 'log_dest stderr',
                     'log_type all', 'connection_messages true']
            for flag, value in self.flags.items():
                if _MOSQUITTO_LIMITS.get(flag):
                    lines.append('%s %s' % (_MOSQUITTO_LIMITS[flag], value))
            with open(conf, 'w') as f:
                f.write('\n'.join(lines) + '\n')
            cmd = [MOSQUITTO, '-c', conf]
        else:
            port_file = os.path.join(self.dir, 'port')
            if os.path.exists(port_file):
                os.remove(port_file)  # a restart: wait for the new port, not the old one
            cmd = [BINARY, '--host', '127.0.0.1', '--port', '0', '--port-file', port_file,
                   '--data-dir', os.path.join(self.dir, 'data'), '--threads', THREADS,
                   '--log-level', 'debug']
            for flag, value in self.flags.items():
                cmd += ['--' + flag, str(value)]
        limits = None
        if self.nofile:
            limits = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, self.nofile)
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=limits)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerError('broker exited with %d during start-up:\n%s'
                                  % (self.proc.returncode, self.log_tail()))
            if IS_MOSQUITTO:
                # Not a probe connection: Mosquitto 2.0.11 miscounts max_connections after one.
                if ' running' in self.log_text():
                    return self
            else:
                port = _read_port(port_file)
                if port:
                    self.port = port
                    return self
            time.sleep(0.01)  # polling for start-up with a deadline, not synchronisation
        self.stop()
        raise BrokerError('broker not listening after %.0f s:\n%s' % (timeout, self.log_tail()))

    def stop(self, timeout=5.0):
        """SIGTERM, then SIGKILL after timeout. Returns the exit code (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return None

    def kill(self):
        """SIGKILL (a crash): nothing is flushed. Returns once the process is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def restart(self, timeout=10.0):
        """Starts again on the same data directory (a new port: read self.port after)."""
        self.stop()
        return self.start(timeout)

    def alive(self):
        return self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''

    def log_tail(self, lines=40):
        return '\n'.join(self.log_text().splitlines()[-lines:])

    def rss_kib(self):
        with open('/proc/%d/status' % self.proc.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        raise BrokerError('no VmRSS')

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _read_port(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def telemq_only(reason):
    return unittest.skipIf(IS_MOSQUITTO, 'telemq-specific: ' + reason)


def mosquitto_deviates(reason):
    return unittest.skipIf(IS_MOSQUITTO, 'mosquitto deviates: ' + reason)


class BrokerTest(unittest.TestCase):
    """A fresh broker per test. Subclasses may set broker_flags = {'max-inflight': 2, ...} and
    broker_nofile = (soft, hard), the open-file limit the broker starts with."""

    broker_flags = {}
    broker_nofile = None

    def setUp(self):
        start = _file_start.setdefault(type(self).__module__, time.monotonic())
        if time.monotonic() - start > FILE_BUDGET_S:
            self.fail('the %.0f s budget of this file was spent by earlier tests (is the broker '
                      'hanging?)' % FILE_BUDGET_S)
        self.broker = Broker(self.broker_flags, self.broker_nofile)
        self.addCleanup(self._stop_broker)
        self._unsupported = None
        try:
            self.broker.start()
        except BrokerError:
            # A kernel without a needed io_uring feature (or with io_uring disabled) is a
            # reason to skip, not a failure: the broker says so and exits 1.
            found = re.search(r'cannot start: (.*io_uring.*)', self.broker.log_text())
            if not found:
                raise
            self._unsupported = found.group(1)
            self.skipTest('this kernel cannot run the broker: ' + self._unsupported)
        self.port = self.broker.port
        self._log = ''

    def _stop_broker(self):
        code = self.broker.stop()
        if self._unsupported:
            self.broker.cleanup()
            return
        text = self.broker.log_text()
        self._log = self.broker.log_tail()
        self.broker.cleanup()
        # Under a sanitizer a report may not crash the broker (TSan, leaks at exit): it shows in
        # the log and in the exit status of the graceful stop, which must be 0. A test that
        # killed the broker (kill -9) leaves -9.
        report = re.search(r'(ERROR|WARNING): \w+Sanitizer|runtime error: ', text)
        if report:
            self.fail('sanitizer report in the broker log:\n' + text[report.start():][:6000])
        if not IS_MOSQUITTO and code not in (0, -signal.SIGKILL):
            self.fail('the broker exited with %r at the end of the test (None: it did not stop '
                      'within 5 s of SIGTERM)' % code)

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > before:
            sys.stderr.write('\n--- broker log tail (%s) ---\n%s\n--- end of log ---\n'
                             % (self.id(), getattr(self, '_log', '')))
        return out

    def client(self, version=mqtt_raw.V311, timeout=5.0):
        c = mqtt_raw.Client(self.port, version=version, timeout=timeout)
        self.addCleanup(c.close)
        return c

    def connected(self, client_id='', clean=True, version=mqtt_raw.V311, keepalive=60, **kw):
        """A raw client whose CONNECT was accepted."""
        c = self.client(version)
        connack = c.connect(client_id, clean, keepalive, **kw)
        self.assertEqual(mqtt_raw.connack_codes(connack)[1], 0, 'CONNECT refused: %r' % connack)
        return c

    def subscribed(self, filters, client_id='', version=mqtt_raw.V311, **kw):
        """A connected raw client subscribed to filters [(filter, qos)], all granted."""
        c = self.connected(client_id, version=version, **kw)
        codes = c.subscribe(filters)
        self.assertEqual(codes, [opts & 3 for _, opts in filters])
        return c

    def assert_serving(self):
        """The broker still routes a message between two new clients."""
        sub = self.subscribed([('serving/check', 1)])
        pub = self.connected()
        pub.publish('serving/check', b'still here', qos=1)
        msg = sub.recv_publish()
        self.assertEqual((msg.topic, msg.payload), ('serving/check', b'still here'))
        sub.close()
        pub.close()

    def log_contains(self, needle, timeout=2.0):
        """The broker log contains needle (case-insensitive), waiting for it up to timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if needle.lower() in self.broker.log_text().lower():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)  # polling a file with a deadline

    def receive(self, sub, count=None, until_topic=None, timeout=5.0):
        """Receives PUBLISHes on sub, completing every QoS 1/2 flow as a well-behaved client, until
        count messages arrived or a message on until_topic arrived (not included)."""
        out = []
        while count is None or len(out) < count:
            pkt = sub.recv(timeout)
            if pkt.type == mqtt_raw.PUBREL:
                sub.send(mqtt_raw.ack(mqtt_raw.PUBCOMP, pkt.pid))
                continue
            self.assertEqual(pkt.type, mqtt_raw.PUBLISH, pkt)
            msg = mqtt_raw.Publish(pkt, sub.version)
            if msg.qos:
                sub.send(mqtt_raw.ack(mqtt_raw.PUBACK if msg.qos == 1 else mqtt_raw.PUBREC,
                                      msg.pid))
            if msg.topic == until_topic:
                return out
            out.append(msg)
        return out

    def publishes_before_marker(self, sub, publisher, marker_topic='marker/end', timeout=5.0):
        """Publishes a QoS 1 marker (sub must be subscribed to it) and returns every PUBLISH sub
        received before the marker. Proves an absence without waiting for a timeout."""
        publisher.publish(marker_topic, b'marker', qos=1, pid=999)
        return self.receive(sub, until_topic=marker_topic, timeout=timeout)
