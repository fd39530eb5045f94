"""Interoperability with MQTT.js (Debian's node-mqtt 4.3), MQTT 3.1.1 and 5.0: one test per
scenario of mqttjs_scenarios.js, each against a fresh broker. The scenarios check QoS 0/1/2,
retained messages, persistent sessions, wills, UNSUBSCRIBE, forwarded 5.0 properties, topic
aliases both ways, subscription options, shared subscriptions, session take-over and assigned
client ids, from MQTT.js's side of the wire."""
import os
import shutil
import subprocess
import unittest

from support import ConformanceTest, mosquitto_deviates, telemq_only

NODE = shutil.which('node') or shutil.which('nodejs')
NODE_PATH = '/usr/share/nodejs'  # where Debian installs node-mqtt
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'mqttjs_scenarios.js')
HAVE_MQTTJS = NODE is not None and os.path.isdir(os.path.join(NODE_PATH, 'mqtt'))


@unittest.skipUnless(HAVE_MQTTJS, 'nodejs or node-mqtt (MQTT.js) not installed')
class MqttJsTest(ConformanceTest):
    def scenario(self, name):
        env = dict(os.environ, NODE_PATH=NODE_PATH)
        # The script stops itself after 10 s; the timeout here only guards against a stuck node.
        run = subprocess.run([NODE, SCRIPT, str(self.port), name], env=env, timeout=30,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = [line for line in run.stdout.splitlines() if line.startswith(('PASS', 'FAIL'))]
        self.assertEqual((run.returncode, lines), (0, ['PASS ' + name]), run.stdout)

    def test_qos_0_1_2_mqtt_3_1_1(self):
        self.scenario('qos_levels_v311')

    def test_qos_0_1_2_mqtt_5_0(self):
        self.scenario('qos_levels_v5')

    def test_retained_message_set_then_cleared(self):
        self.scenario('retained_set_and_cleared')

    def test_persistent_session_queues_while_offline_3_1_1(self):
        self.scenario('persistent_session_v311')

    def test_persistent_session_queues_while_offline_5_0(self):
        self.scenario('persistent_session_v5')

    def test_will_published_when_the_socket_drops(self):
        self.scenario('will_on_abnormal_close')

    def test_no_will_after_disconnect(self):
        self.scenario('no_will_after_disconnect')

    def test_unsubscribe_stops_delivery(self):
        self.scenario('unsubscribe_stops_delivery')

    def test_5_0_properties_forwarded(self):
        self.scenario('v5_properties_forwarded')

    @mosquitto_deviates('2.0.11 sends no topic aliases to clients')
    def test_5_0_topic_aliases_both_ways(self):
        self.scenario('v5_topic_aliases')

    def test_5_0_no_local_retain_as_published_retain_handling(self):
        self.scenario('v5_subscription_options')

    @telemq_only('how a group shares the messages is the broker\'s choice (5.0 4.8.2)')
    def test_5_0_shared_subscription_every_member_gets_some(self):
        self.scenario('v5_shared_subscription')

    @mosquitto_deviates('2.0.11 closes the first connection without DISCONNECT 0x8E')
    def test_5_0_session_takeover_reason(self):
        self.scenario('v5_session_takeover')

    def test_5_0_assigned_client_identifier(self):
        self.scenario('v5_assigned_client_id')


if __name__ == '__main__':
    unittest.main()
