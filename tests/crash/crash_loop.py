#!/usr/bin/python3
"""Crash loop: kill -9 the broker at random moments and count acknowledged messages lost.

Every cycle starts telemq on the same data directory, runs QoS 1 publishers (each message carries
its publisher and sequence number; a PUBACK marks it acknowledged) and, on some cycles, lets the
persistent subscriber consume for a while; after a random time the broker is killed with SIGKILL.
At the end the broker starts once more, the subscriber (a persistent session, offline most of the
time) drains everything it is owed, and the run checks:

  lost        acknowledged messages the subscriber never received (must be 0)
  duplicates  messages received more than once (allowed at QoS 1, reported)
  retained    every acknowledged retained message is still retained (one topic per cycle)

  tests/crash/crash_loop.py --binary build/release/broker/telemq --cycles 15 --seed 7

Exit 0 when nothing acknowledged was lost, 1 otherwise, 2 on a setup error. Bounded: every wait
has a deadline and --time-limit stops the cycles early.
"""
import argparse
import json
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import mqtt_raw as m  # noqa: E402

SUB_ID = 'crash-sub'
DATA_FILTER = 'crash/data/#'


class Broker:
    def __init__(self, binary, data_dir, threads, segment_mb, log_path, extra_args):
        self.binary, self.data_dir, self.threads, self.log_path = binary, data_dir, threads, log_path
        self.segment_mb, self.extra_args = segment_mb, extra_args
        self.proc, self.port = None, None

    def start(self, timeout=30.0):
        port_file = os.path.join(os.path.dirname(self.log_path), 'port')
        if os.path.exists(port_file):
            os.remove(port_file)
        log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(
            [self.binary, '--port', '0', '--port-file', port_file, '--data-dir', self.data_dir,
             '--threads', str(self.threads), '--segment-mb', str(self.segment_mb)] +
            self.extra_args,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('broker exited with %d at start-up' % self.proc.returncode)
            try:
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    return
            except OSError:
                pass
            time.sleep(0.01)  # polling for start-up with a deadline
        raise RuntimeError('broker not listening after %.0f s' % timeout)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Publisher(threading.Thread):
    """Pipelined QoS 1 publisher; records which sequence numbers were acknowledged."""

    WINDOW = 64

    def __init__(self, index, port, first_seq, acked):
        super().__init__(daemon=True)
        self.index, self.port, self.seq, self.acked = index, port, first_seq, acked
        self.stop_flag = threading.Event()

    def run(self):
        try:
            c = m.Client(self.port, timeout=5.0)
            c.connect('crash-pub-%d' % self.index, clean=True)
        except (OSError, m.Closed, TimeoutError):
            return
        inflight, pid = {}, 0
        topic = 'crash/data/%d' % self.index
        try:
            while not self.stop_flag.is_set():
                batch = []
                while len(inflight) < self.WINDOW:
                    pid = pid % 65535 + 1
                    inflight[pid] = self.seq
                    batch.append(m.publish(topic, b'%d:%d' % (self.index, self.seq), 1, pid))
                    self.seq += 1
                if batch:
                    c.send(b''.join(batch))
                pkt = c.recv(timeout=5.0)
                while True:
                    if pkt.type == m.PUBACK and pkt.pid in inflight:
                        self.acked.add(inflight.pop(pkt.pid))
                    if len(c.buf) < 2:
                        break
                    pkt = c.recv(timeout=0.5)
        except (OSError, m.Closed, TimeoutError):
            pass  # the broker was killed
        finally:
            c.close()


def drain(port, timeout, received, stop_flag=None):
    """Connects the persistent subscriber, receives (and acknowledges) until a marker published
    after connecting arrives or stop_flag is set. Returns True if the marker arrived."""
    c = m.Client(port, timeout=5.0)
    try:
        ack = c.connect(SUB_ID, clean=False)
        if m.connack_codes(ack)[1] != 0:
            raise RuntimeError('subscriber refused: %r' % ack)
        if stop_flag is None:
            with m.Client(port) as pub:
                pub.connect('crash-marker', clean=True)
                pub.publish('crash/data/marker', b'marker', qos=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if stop_flag is not None and stop_flag.is_set():
                return False
            try:
                pkt = c.recv(timeout=1.0)
            except TimeoutError:
                continue
            if pkt.type != m.PUBLISH:
                continue
            msg = m.Publish(pkt, m.V311)
            if msg.qos:
                c.send(m.ack(m.PUBACK, msg.pid))
            if msg.topic == 'crash/data/marker':
                return True
            received.append(msg.payload)
        return False
    except (OSError, m.Closed):
        return False
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--binary', default='build/release/broker/telemq')
    ap.add_argument('--cycles', type=int, default=15)
    ap.add_argument('--publishers', type=int, default=4)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--segment-mb', type=int, default=64,
                    help='log segment size; small ones make the runs roll segments (into '
                         'zero-filled prepared files) and get killed mid-roll')
    ap.add_argument('--min-run', type=float, default=0.2, help='shortest time before the kill, s')
    ap.add_argument('--max-run', type=float, default=1.2, help='longest time before the kill, s')
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--broker-args', default='',
                    help='more broker flags, e.g. "--durability batch --max-queued-messages 1000" '
                         '(the defaults otherwise: an offline backlog beyond the in-memory queue '
                         'limits is read back from the log)')
    ap.add_argument('--time-limit', type=float, default=240.0)
    ap.add_argument('--json', help='write the summary here too')
    ap.add_argument('--keep', action='store_true', help='keep the data directory')
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    start = time.monotonic()
    work = tempfile.mkdtemp(prefix='telemq-crash-')
    broker = Broker(args.binary, os.path.join(work, 'data'), args.threads, args.segment_mb,
                    os.path.join(work, 'broker.log'), shlex.split(args.broker_args))
    acked = [set() for _ in range(args.publishers)]
    next_seq = [0] * args.publishers
    received = []
    retained_acked = []
    cycles = 0
    try:
        broker.start()
        with m.Client(broker.port) as c:
            c.connect(SUB_ID, clean=False)
            c.subscribe([(DATA_FILTER, 1)])
            c.send(m.disconnect())
        for cycle in range(args.cycles):
            if time.monotonic() - start > args.time_limit * 0.7:
                break
            if cycle > 0:
                broker.start()
            cycles += 1
            pubs = [Publisher(i, broker.port, next_seq[i], acked[i]) for i in range(args.publishers)]
            for p in pubs:
                p.start()
            with m.Client(broker.port) as r:
                r.connect('crash-retainer', clean=True)
                r.publish('crash/retained/%d' % cycle, b'cycle %d' % cycle, qos=1, retain=True)
                retained_acked.append(cycle)
            consumer_stop = threading.Event()
            consumer = None
            if cycle % 3 == 1:  # the subscriber consumes during this run
                consumer = threading.Thread(
                    target=drain, args=(broker.port, 30.0, received, consumer_stop), daemon=True)
                consumer.start()
            time.sleep(rng.uniform(args.min_run, args.max_run))  # the random moment of the kill
            broker.kill()
            for p in pubs:
                p.stop_flag.set()
            consumer_stop.set()
            for p in pubs:
                p.join(10)
                next_seq[p.index] = p.seq
            if consumer:
                consumer.join(10)
        broker.start()
        if not drain(broker.port, max(30.0, args.time_limit - (time.monotonic() - start)),
                     received):
            raise RuntimeError('the subscriber did not receive its marker in time')
        retained = []
        with m.Client(broker.port) as c:
            c.connect('crash-retained-check', clean=True)
            c.subscribe([('crash/retained/#', 1)])
            with m.Client(broker.port) as pub:
                pub.connect('crash-marker2', clean=True)
                pub.publish('crash/retained/marker', b'end', qos=1)
            while True:
                msg = c.recv_publish(timeout=10.0)
                if msg.qos:
                    c.send(m.ack(m.PUBACK, msg.pid))
                if msg.topic == 'crash/retained/marker':
                    break
                retained.append(msg.topic)
        broker.stop()
    except (RuntimeError, OSError, TimeoutError, m.Closed) as e:
        print('crash loop: setup or run error: %s (seed %d, data in %s)' % (e, seed, work))
        broker.stop()
        sys.exit(2)

    got = {}
    for payload in received:
        i, seq = payload.split(b':')
        got.setdefault((int(i), int(seq)), 0)
        got[(int(i), int(seq))] += 1
    total_acked = sum(len(a) for a in acked)
    lost = [(i, s) for i in range(args.publishers) for s in acked[i] if (i, s) not in got]
    duplicates = sum(n - 1 for n in got.values())
    missing_retained = [c for c in retained_acked if 'crash/retained/%d' % c not in retained]
    summary = {
        'seed': seed, 'cycles': cycles, 'publishers': args.publishers,
        'acked': total_acked, 'received': len(received), 'distinct_received': len(got),
        'lost': len(lost), 'duplicates': duplicates,
        'retained_acked': len(retained_acked), 'retained_missing': len(missing_retained),
        'seconds': round(time.monotonic() - start, 1),
    }
    print('crash loop: %s' % json.dumps(summary))
    if lost:
        print('crash loop: first lost (publisher, seq): %s' % sorted(lost)[:20])
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(summary, f, indent=2)
    failed = bool(lost or missing_retained or total_acked == 0)
    if failed:
        print('crash loop: FAILED; data and broker log kept in %s' % work)
    elif not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
