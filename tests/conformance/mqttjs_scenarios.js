// MQTT.js (Debian's node-mqtt) against a running broker: one scenario per run.
//
//   NODE_PATH=/usr/share/nodejs node mqttjs_scenarios.js PORT SCENARIO
//
// Prints "PASS <scenario>" and exits 0, or prints "FAIL <scenario>: <why>" and
// exits 1. Every scenario is bounded: a 10 s timer fails the run, and every
// client is created with reconnection off, so nothing hangs. Nothing sleeps to
// synchronise: each step waits for the packet or event it needs, and where
// something must not arrive, a marker published after it proves it did not.
'use strict';

const mqtt = require('mqtt');

const [port, scenario] = process.argv.slice(2);
const url = `mqtt://127.0.0.1:${port}`;
const clients = [];

function fail(why) {
  console.log(`FAIL ${scenario}: ${why}`);
  for (const c of clients) c.end(true);
  process.exit(1);
}

function check(cond, why) {
  if (!cond) throw new Error(why);
}

// A connected client; resolves with [client, connack].
function connect(opts) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    clients.push(c);
    c.once('connect', (connack) => resolve([c, connack]));
    c.once('error', reject);
  });
}

function subscribe(c, topic, opts) {
  return new Promise((resolve, reject) => {
    c.subscribe(topic, opts, (err, granted) => (err ? reject(err) : resolve(granted)));
  });
}

function unsubscribe(c, topic) {
  return new Promise((resolve, reject) => {
    c.unsubscribe(topic, (err) => (err ? reject(err) : resolve()));
  });
}

function publish(c, topic, payload, opts) {
  return new Promise((resolve, reject) => {
    c.publish(topic, payload, opts, (err) => (err ? reject(err) : resolve()));
  });
}

function end(c) {
  return new Promise((resolve) => c.end(false, {}, resolve));
}

// Collects { topic, payload, packet } of every message `c` receives; wait(n)
// resolves once n have arrived.
function collector(c) {
  const got = [];
  let waiter = null;
  c.on('message', (topic, payload, packet) => {
    got.push({ topic, payload: payload.toString(), packet });
    if (waiter && got.length >= waiter.n) waiter.resolve(got);
  });
  return {
    got,
    wait(n) {
      if (got.length >= n) return Promise.resolve(got);
      return new Promise((resolve) => {
        waiter = { n, resolve };
      });
    },
  };
}

// Messages of `box` before the marker topic, once the marker has arrived.
async function untilMarker(box, publisher, marker) {
  await publish(publisher, marker, 'marker', { qos: 1 });
  for (;;) {
    const i = box.got.findIndex((m) => m.topic === marker);
    if (i >= 0) return box.got.slice(0, i);
    await box.wait(box.got.length + 1);
  }
}

const scenarios = {
  // QoS 0, 1 and 2 through a wildcard subscription granted QoS 2, in order.
  async qos_levels(version) {
    const [sub] = await connect({ protocolVersion: version, clientId: 'js-sub' });
    const granted = await subscribe(sub, 'js/q/+', { qos: 2 });
    check(granted[0].qos === 2, `granted ${JSON.stringify(granted)}`);
    const box = collector(sub);
    const [pub] = await connect({ protocolVersion: version, clientId: 'js-pub' });
    for (const qos of [0, 1, 2]) await publish(pub, `js/q/${qos}`, `m${qos}`, { qos });
    const got = await box.wait(3);
    const seen = got.map((m) => `${m.topic}|${m.payload}|${m.packet.qos}`);
    check(seen.join(',') === 'js/q/0|m0|0,js/q/1|m1|1,js/q/2|m2|2', `received ${seen}`);
  },
  qos_levels_v311() {
    return this.qos_levels(4);
  },
  qos_levels_v5() {
    return this.qos_levels(5);
  },

  // A retained message reaches a later subscriber with RETAIN set; an empty
  // retained payload clears it.
  async retained_set_and_cleared() {
    const [pub] = await connect({ protocolVersion: 4, clientId: 'js-pub' });
    await publish(pub, 'js/r/a', 'kept', { qos: 1, retain: true });
    const [sub] = await connect({ protocolVersion: 4, clientId: 'js-sub' });
    const box = collector(sub);
    await subscribe(sub, 'js/r/#', { qos: 1 });
    const [first] = await box.wait(1);
    check(first.topic === 'js/r/a' && first.payload === 'kept', `got ${first.topic}`);
    check(first.packet.retain === true, 'RETAIN not set on the stored message');
    await publish(pub, 'js/r/a', '', { qos: 1, retain: true });
    const [late] = await connect({ protocolVersion: 4, clientId: 'js-late' });
    const lateBox = collector(late);
    await subscribe(late, 'js/r/#', { qos: 1 });
    const before = await untilMarker(lateBox, pub, 'js/r/marker');
    check(before.length === 0, `a cleared message was delivered: ${before.map((m) => m.topic)}`);
  },

  // A persistent session keeps its subscription and queues QoS 1 messages
  // while offline; 5.0 through Session Expiry Interval.
  async persistent_session(version) {
    const props = version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {};
    const base = { protocolVersion: version, clientId: 'js-persist', clean: false, ...props };
    const [first, ack1] = await connect(base);
    check(!ack1.sessionPresent, 'a new session was reported present');
    await subscribe(first, 'js/p', { qos: 1 });
    await end(first);
    const [pub] = await connect({ protocolVersion: version, clientId: 'js-pub' });
    for (let i = 0; i < 3; ++i) await publish(pub, 'js/p', `offline ${i}`, { qos: 1 });
    const again = mqtt.connect(url, { reconnectPeriod: 0, ...base });
    clients.push(again);
    const box = collector(again); // before CONNACK: the queue follows it at once
    const ack2 = await new Promise((resolve, reject) => {
      again.once('connect', resolve);
      again.once('error', reject);
    });
    check(ack2.sessionPresent, 'the session was not resumed');
    const got = await box.wait(3);
    const payloads = got.map((m) => m.payload).join(',');
    check(payloads === 'offline 0,offline 1,offline 2', `received ${payloads}`);
  },
  persistent_session_v311() {
    return this.persistent_session(4);
  },
  persistent_session_v5() {
    return this.persistent_session(5);
  },

  // The will is published when the connection drops without DISCONNECT.
  async will_on_abnormal_close() {
    const [watcher] = await connect({ protocolVersion: 4, clientId: 'js-watch' });
    const box = collector(watcher);
    await subscribe(watcher, 'js/will', { qos: 1 });
    const [doomed] = await connect({
      protocolVersion: 4,
      clientId: 'js-doomed',
      will: { topic: 'js/will', payload: 'gone', qos: 1, retain: false },
    });
    doomed.stream.destroy(); // the socket closes, no DISCONNECT
    const [will] = await box.wait(1);
    check(will.topic === 'js/will' && will.payload === 'gone', `got ${will.topic}`);
  },

  // No will after a normal DISCONNECT.
  async no_will_after_disconnect() {
    const [watcher] = await connect({ protocolVersion: 4, clientId: 'js-watch' });
    const box = collector(watcher);
    await subscribe(watcher, 'js/will/#', { qos: 1 });
    const [leaving] = await connect({
      protocolVersion: 4,
      clientId: 'js-leaving',
      will: { topic: 'js/will/leaving', payload: 'gone', qos: 1, retain: false },
    });
    await end(leaving);
    const before = await untilMarker(box, watcher, 'js/will/marker');
    check(before.length === 0, 'the will was published after DISCONNECT');
  },

  // UNSUBSCRIBE stops delivery.
  async unsubscribe_stops_delivery() {
    const [c] = await connect({ protocolVersion: 4, clientId: 'js-unsub' });
    const box = collector(c);
    await subscribe(c, ['js/u/a', 'js/u/marker'], { qos: 1 });
    await unsubscribe(c, 'js/u/a');
    await publish(c, 'js/u/a', 'after', { qos: 1 });
    const before = await untilMarker(box, c, 'js/u/marker');
    check(before.length === 0, 'delivered after UNSUBSCRIBE');
  },

  // 5.0 properties of a PUBLISH reach a 5.0 subscriber.
  async v5_properties_forwarded() {
    const [sub] = await connect({ protocolVersion: 5, clientId: 'js-sub' });
    const box = collector(sub);
    await subscribe(sub, 'js/props', { qos: 1 });
    const [pub] = await connect({ protocolVersion: 5, clientId: 'js-pub' });
    await publish(pub, 'js/props', 'body', {
      qos: 1,
      properties: {
        payloadFormatIndicator: true,
        messageExpiryInterval: 60,
        contentType: 'text/plain',
        responseTopic: 'js/reply',
        correlationData: Buffer.from('c0rr'),
        userProperties: { k1: 'v1', k2: ['a', 'b'] },
      },
    });
    const [m] = await box.wait(1);
    const p = m.packet.properties || {};
    check(p.contentType === 'text/plain', `contentType ${p.contentType}`);
    check(p.responseTopic === 'js/reply', `responseTopic ${p.responseTopic}`);
    check(p.correlationData && p.correlationData.toString() === 'c0rr', 'correlationData');
    check(p.payloadFormatIndicator === true, 'payloadFormatIndicator');
    check(p.messageExpiryInterval >= 59 && p.messageExpiryInterval <= 60, 'messageExpiryInterval');
    const up = p.userProperties || {};
    check(up.k1 === 'v1', `user property k1 ${JSON.stringify(up)}`);
    check(JSON.stringify(up.k2) === '["a","b"]', `repeated user property k2 ${JSON.stringify(up)}`);
  },

  // Topic aliases both ways: MQTT.js assigns them on publish (the broker's
  // CONNACK allows them), and resolves those the broker sends.
  async v5_topic_aliases() {
    const [sub] = await connect({ protocolVersion: 5, clientId: 'js-sub', topicAliasMaximum: 8 });
    const box = collector(sub);
    await subscribe(sub, 'js/alias/#', { qos: 1 });
    const [pub, connack] = await connect({
      protocolVersion: 5,
      clientId: 'js-pub',
      autoAssignTopicAlias: true,
    });
    const max = (connack.properties || {}).topicAliasMaximum || 0;
    check(max > 0, 'the broker offered no topic aliases');
    const topics = ['js/alias/long/one', 'js/alias/long/two', 'js/alias/long/one'];
    for (let i = 0; i < topics.length; ++i) await publish(pub, topics[i], `m${i}`, { qos: 1 });
    const got = await box.wait(3);
    const seen = got.map((m) => `${m.topic}=${m.payload}`).join(',');
    check(seen === 'js/alias/long/one=m0,js/alias/long/two=m1,js/alias/long/one=m2', seen);
    const aliased = got.filter((m) => (m.packet.properties || {}).topicAlias !== undefined);
    check(aliased.length === 3, `the broker sent ${aliased.length} of 3 with an alias`);
  },

  // Subscription options: No Local, Retain As Published, Retain Handling 2.
  async v5_subscription_options() {
    const [c] = await connect({ protocolVersion: 5, clientId: 'js-opts' });
    const box = collector(c);
    await publish(c, 'js/o/kept', 'retained', { qos: 1, retain: true });
    await subscribe(c, 'js/o/kept', { qos: 1, rh: 2 }); // no retained message at subscribe
    await subscribe(c, 'js/o/local', { qos: 1, nl: true });
    await subscribe(c, 'js/o/rap', { qos: 1, rap: true });
    await publish(c, 'js/o/local', 'own', { qos: 1 });
    await publish(c, 'js/o/rap', 'flagged', { qos: 1, retain: true });
    const [other] = await connect({ protocolVersion: 5, clientId: 'js-other' });
    const before = await untilMarker(box, other, 'js/o/kept');
    const seen = before.map((m) => `${m.topic}|${m.packet.retain}`).join(',');
    check(seen === 'js/o/rap|true', `received ${seen}`);
  },

  // $share: each message goes to one member of the group.
  async v5_shared_subscription() {
    let total = 0;
    let allArrived;
    const ten = new Promise((resolve) => {
      allArrived = resolve;
    });
    const members = [];
    for (const id of ['js-m1', 'js-m2']) {
      const [c] = await connect({ protocolVersion: 5, clientId: id });
      members.push(collector(c));
      c.on('message', () => {
        if (++total === 10) allArrived();
      });
      await subscribe(c, '$share/g/js/s', { qos: 1 });
    }
    const [pub] = await connect({ protocolVersion: 5, clientId: 'js-pub' });
    for (let i = 0; i < 10; ++i) await publish(pub, 'js/s', `m${i}`, { qos: 1 });
    await ten;
    // Both members got some; together exactly the ten, each once.
    const [a, b] = members;
    const payloads = a.got.concat(b.got).map((m) => m.payload);
    check(new Set(payloads).size === 10, `received ${payloads}`);
    check(a.got.length > 0 && b.got.length > 0, `split ${a.got.length}/${b.got.length}`);
  },

  // A second connection with the same client id takes the session over; 5.0
  // tells the first one why (DISCONNECT 0x8E).
  async v5_session_takeover() {
    const [first] = await connect({ protocolVersion: 5, clientId: 'js-twice' });
    const reason = new Promise((resolve) => first.on('disconnect', (p) => resolve(p.reasonCode)));
    await connect({ protocolVersion: 5, clientId: 'js-twice' });
    const code = await reason;
    check(code === 0x8e, `DISCONNECT reason ${code}`);
  },

  // An empty client id with Clean Start gets one assigned (5.0 CONNACK).
  async v5_assigned_client_id() {
    const [, connack] = await connect({ protocolVersion: 5, clientId: '', clean: true });
    const id = (connack.properties || {}).assignedClientIdentifier;
    check(typeof id === 'string' && id.length > 0, `assigned ${id}`);
  },
};

if (!Object.prototype.hasOwnProperty.call(scenarios, scenario) || !port) {
  console.log(`usage: node mqttjs_scenarios.js PORT SCENARIO (one of ${Object.keys(scenarios)})`);
  process.exit(2);
}
setTimeout(() => fail('timed out after 10 s'), 10000);
scenarios[scenario]()
  .then(() => {
    console.log(`PASS ${scenario}`);
    for (const c of clients) c.end(true);
    process.exit(0);
  })
  .catch((err) => fail(err && err.message ? err.message : String(err)));
