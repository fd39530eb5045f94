"""Independent clients: Debian's mosquitto_pub / mosquitto_sub (libmosquitto) against the broker."""
import queue
import shutil
import subprocess
import threading
import unittest

import mqtt_raw as m
from broker import BrokerTest

PUB, SUB = shutil.which('mosquitto_pub'), shutil.which('mosquitto_sub')
STDBUF = shutil.which('stdbuf')


@unittest.skipUnless(PUB and SUB and STDBUF, 'mosquitto-clients or stdbuf not installed')
class CliClientsTest(BrokerTest):
    def start_sub(self, topic, count, version, extra=()):
        """Starts mosquitto_sub and returns (process, line queue) once its SUBACK arrived."""
        # stdbuf: line-buffered stdout, so the SUBACK debug line arrives when it happens.
        cmd = [STDBUF, '-oL', SUB, '-h', '127.0.0.1', '-p', str(self.port), '-t', topic, '-C', str(count),
               '-W', '5', '-q', '2', '-V', version, '-d', '-F', 'MSG %t %p', *extra]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(_kill, proc)
        lines = queue.Queue()
        threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
        while True:
            line = lines.get(timeout=5)  # queue.Empty: mosquitto_sub never got its SUBACK
            self.assertIsNotNone(line, 'mosquitto_sub exited before subscribing')
            if 'SUBACK' in line:
                return proc, lines

    def pub(self, topic, payload, qos, version, extra=()):
        subprocess.run([PUB, '-h', '127.0.0.1', '-p', str(self.port), '-t', topic, '-m', payload,
                        '-q', str(qos), '-V', version, *extra], check=True, timeout=10,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def messages(self, proc, lines):
        self.assertEqual(proc.wait(timeout=10), 0, 'mosquitto_sub failed or timed out (-W 5)')
        out = []
        while True:
            line = lines.get(timeout=5)
            if line is None:
                return out
            if line.startswith('MSG '):
                out.append(line.rstrip('\n'))

    def three_messages(self, version):
        proc, lines = self.start_sub('cli/#', 3, version)
        for qos in (0, 1, 2):
            self.pub('cli/q%d' % qos, 'payload-%d' % qos, qos, version)
        self.assertEqual(self.messages(proc, lines),
                         ['MSG cli/q0 payload-0', 'MSG cli/q1 payload-1', 'MSG cli/q2 payload-2'])

    def test_mosquitto_sub_receives_three_messages_from_mosquitto_pub_qos_0_1_2_mqttv311(self):
        self.three_messages('mqttv311')

    def test_mosquitto_sub_receives_three_messages_from_mosquitto_pub_qos_0_1_2_mqttv5(self):
        self.three_messages('mqttv5')

    def test_mosquitto_pub_retained_message_is_received_by_a_later_mosquitto_sub(self):
        self.pub('cli/retained', 'kept', 1, 'mqttv311', ['-r'])
        out = subprocess.run([SUB, '-h', '127.0.0.1', '-p', str(self.port), '-t', 'cli/retained',
                              '-C', '1', '-W', '5', '-F', '%r %t %p'], timeout=10,
                             stdout=subprocess.PIPE, text=True)
        self.assertEqual((out.returncode, out.stdout), (0, '1 cli/retained kept\n'))

    def test_mosquitto_pub_mqttv5_user_property_reaches_a_v5_subscriber(self):
        sub = self.subscribed([('cli/props', 1)], version=m.V5)
        self.pub('cli/props', 'p', 1, 'mqttv5', ['-D', 'publish', 'user-property', 'k', 'v'])
        msg = self.receive(sub, 1)[0]
        self.assertEqual(msg.prop(m.USER_PROPERTY), ('k', 'v'))


def _pump(stream, lines):
    for line in stream:
        lines.put(line)
    lines.put(None)


def _kill(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)
    proc.stdout.close()


if __name__ == '__main__':
    unittest.main()
