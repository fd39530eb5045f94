"""Interoperability with Debian's mosquitto_pub / mosquitto_sub (libmosquitto 2.0), MQTT 3.1.1
and 5.0, including across versions: QoS 0/1/2, retained messages, persistent sessions with
offline queueing, wills, 5.0 properties and topic aliases in both directions."""
import queue
import shutil
import signal
import subprocess
import threading
import unittest

from support import ConformanceTest, V5, m

PUB, SUB = shutil.which('mosquitto_pub'), shutil.which('mosquitto_sub')
STDBUF = shutil.which('stdbuf')
V311_CLI, V5_CLI = 'mqttv311', 'mqttv5'


def _pump(stream, lines):
    for line in stream:
        lines.put(line)
    lines.put(None)


@unittest.skipUnless(PUB and SUB and STDBUF, 'mosquitto-clients or stdbuf not installed')
class CliTest(ConformanceTest):
    def sub(self, topic, version, count=None, qos=2, extra=(), fmt='%t|%q|%r|%p', wait=True):
        """Starts mosquitto_sub; returns (process, line queue) once its SUBACK has arrived (or at
        once if not wait)."""
        cmd = [STDBUF, '-oL', SUB, '-h', '127.0.0.1', '-p', str(self.port), '-t', topic,
               '-q', str(qos), '-V', version, '-d', '-F', 'MSG ' + fmt, '-W', '10', *extra]
        if count is not None:
            cmd += ['-C', str(count)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(_stop, proc)
        lines = queue.Queue()
        threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
        while wait:
            line = lines.get(timeout=5)  # queue.Empty: mosquitto_sub never got its SUBACK
            self.assertIsNotNone(line, 'mosquitto_sub exited before subscribing')
            if 'SUBACK' in line:
                break
        return proc, lines

    def pub(self, topic, payload, version, qos=0, extra=()):
        cmd = [PUB, '-h', '127.0.0.1', '-p', str(self.port), '-t', topic, '-m', payload,
               '-q', str(qos), '-V', version, *extra]
        subprocess.run(cmd, check=True, timeout=10, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)

    def messages(self, proc, lines):
        """The MSG lines of a mosquitto_sub run with -C, once it has exited."""
        self.assertEqual(proc.wait(timeout=15), 0, 'mosquitto_sub failed or timed out')
        out = []
        while True:
            line = lines.get(timeout=5)
            if line is None:
                return out
            if line.startswith('MSG '):
                out.append(line[4:].rstrip('\n'))

    def qos_matrix(self, sub_version, pub_version):
        proc, lines = self.sub('cli/#', sub_version, count=3)
        for qos in (0, 1, 2):
            self.pub('cli/q%d' % qos, 'payload-%d' % qos, pub_version, qos)
        self.assertEqual(self.messages(proc, lines),
                         ['cli/q0|0|0|payload-0', 'cli/q1|1|0|payload-1', 'cli/q2|2|0|payload-2'])

    def test_qos_0_1_2_from_mosquitto_pub_3_1_1_to_mosquitto_sub_3_1_1(self):
        self.qos_matrix(V311_CLI, V311_CLI)

    def test_qos_0_1_2_from_mosquitto_pub_5_0_to_mosquitto_sub_5_0(self):
        self.qos_matrix(V5_CLI, V5_CLI)

    def test_qos_0_1_2_from_mosquitto_pub_5_0_to_mosquitto_sub_3_1_1(self):
        self.qos_matrix(V311_CLI, V5_CLI)

    def test_qos_0_1_2_from_mosquitto_pub_3_1_1_to_mosquitto_sub_5_0(self):
        self.qos_matrix(V5_CLI, V311_CLI)

    def test_retained_message_reaches_a_later_mosquitto_sub_with_retain_set(self):
        for version in (V311_CLI, V5_CLI):
            self.pub('cli/ret/' + version, 'kept', version, qos=1, extra=['-r'])
            proc, lines = self.sub('cli/ret/' + version, version, count=1)
            self.assertEqual(self.messages(proc, lines), ['cli/ret/%s|1|1|kept' % version])

    def persistent_session(self, version, session_args):
        cid = 'cli-persist-' + version
        args = ['-i', cid, '-c', *session_args]
        proc, lines = self.sub('cli/persist', version, qos=1, extra=args + ['-E'])
        self.messages(proc, lines)  # subscribed, then exited: the session stays
        for i in range(3):
            self.pub('cli/persist', 'offline-%d' % i, version, qos=1)
        # Queued messages may arrive before the SUBACK: do not wait for it.
        proc, lines = self.sub('cli/persist', version, qos=1, count=3, extra=args, wait=False)
        self.assertEqual(self.messages(proc, lines),
                         ['cli/persist|1|0|offline-%d' % i for i in range(3)])

    def test_persistent_session_queues_messages_for_mosquitto_sub_3_1_1(self):
        self.persistent_session(V311_CLI, [])

    def test_persistent_session_queues_messages_for_mosquitto_sub_5_0(self):
        self.persistent_session(V5_CLI, ['-x', '60'])

    def test_will_of_a_killed_mosquitto_sub_is_published(self):
        watcher = self.subscribed([('cli/will/#', 1)], version=V5)
        for version in (V311_CLI, V5_CLI):
            proc, _ = self.sub('cli/none', version, extra=[
                '--will-topic', 'cli/will/' + version, '--will-payload', 'gone',
                '--will-qos', '1'])
            proc.send_signal(signal.SIGKILL)
            msg = self.receive(watcher, 1)[0]
            self.assertEqual((msg.topic, msg.payload), ('cli/will/' + version, b'gone'))

    def test_5_0_properties_from_mosquitto_pub_are_forwarded(self):
        sub = self.subscribed([('cli/props', 1)], version=V5)
        self.pub('cli/props', 'body', V5_CLI, qos=1, extra=[
            '-D', 'publish', 'user-property', 'k1', 'v1',
            '-D', 'publish', 'user-property', 'k2', 'v2',
            '-D', 'publish', 'content-type', 'text/plain',
            '-D', 'publish', 'response-topic', 'cli/reply',
            '-D', 'publish', 'correlation-data', 'c0rr',
            '-D', 'publish', 'payload-format-indicator', '1',
            '-D', 'publish', 'message-expiry-interval', '60'])
        msg = self.receive(sub, 1)[0]
        self.assertEqual(msg.payload, b'body')
        self.assertEqual([v for k, v in msg.properties if k == m.USER_PROPERTY],
                         [('k1', 'v1'), ('k2', 'v2')])
        self.assertEqual((msg.prop(m.CONTENT_TYPE), msg.prop(m.RESPONSE_TOPIC),
                          msg.prop(m.CORRELATION_DATA), msg.prop(m.PAYLOAD_FORMAT)),
                         ('text/plain', 'cli/reply', b'c0rr', 1))
        self.assertIn(msg.prop(m.MESSAGE_EXPIRY), (59, 60))

    def test_mosquitto_pub_topic_alias_is_resolved(self):
        sub = self.subscribed([('cli/alias/#', 1)], version=V5)
        cmd = [PUB, '-h', '127.0.0.1', '-p', str(self.port), '-t', 'cli/alias/long/topic',
               '-V', V5_CLI, '-q', '1', '-l', '-D', 'publish', 'topic-alias', '1']
        subprocess.run(cmd, input='one\ntwo\nthree\n', text=True, check=True, timeout=10,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        got = self.receive(sub, 3)
        self.assertEqual([(p.topic, p.payload) for p in got],
                         [('cli/alias/long/topic', b'one'), ('cli/alias/long/topic', b'two'),
                          ('cli/alias/long/topic', b'three')])


def _stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)


if __name__ == '__main__':
    unittest.main()
