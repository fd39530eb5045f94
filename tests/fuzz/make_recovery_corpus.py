#!/usr/bin/env python3
"""Writes the seed corpus of recovery_fuzz (broker/persist/recovery_fuzz.cc) to
tests/fuzz/recovery_corpus.

Each seed is a log in the fuzz target's input format (see the comment at the top of
recovery_fuzz.cc): a header byte, then operations that write records to two partitions. The
seeds reach recovery's main paths (persistent sessions owed QoS 1/2 messages across partitions,
consumed offsets, QoS 2 in both directions, retained messages and copies, a checkpoint in a
partition trimmed by retention, two shards, queue limits, the restarted broker's retention
behind spilled backlogs) and the hostile records found by fuzzing, so that mutations start
deep inside them. Keep the dictionaries below in step with recovery_fuzz.cc.

    /usr/bin/python3 tests/fuzz/make_recovery_corpus.py
"""
import struct

from corpus_files import write_corpus

TWO_SHARDS, SMALL_QUEUES, LOG, OBSERVER = 1, 2, 4, 8

# The dictionaries of recovery_fuzz.cc, in order (a string is picked by its index).
TOPICS = ['a', 'a/b', 'a/c', 'b', 'r/1', 'r/2', '$SYS/x', 'a//b', '/',
          '', 'a/+', '#', 'a/#/b', '+x', 'a\0b', b'\xff', b'\xc3\x28/a', b'\xed\xa0\x80']
FILTERS = ['a/#', 'a/+', '#', '+', 'a', 'a/b', 'r/#', '$share/g/a/#', '$share/g/#', '$SYS/#',
           '+/+/#', '', 'a/#/b', '+x', 'a#', '$share//a', '$share/g', '$share/g/', 'a\0',
           b'\xc3\x28', '$share/g+/a']
CLIENTS = ['c0', 'c1', 'c2', 'c3', '', b'\xff', 'a\0b']
PROPERTIES = ['payload-format-utf8', 'payload-format-bytes', 'content-type', 'user-property',
              'response-topic', 'correlation-data', 'empty', 'topic-alias-5', 'topic-alias-0',
              'subscription-id', 'message-expiry', 'session-expiry', 'truncated', 'bad-length',
              'response-topic-wildcard', 'content-type-not-utf8', 'payload-format-twice',
              'trailing-byte']
EXPIRIES = [0xffffffff, 0, 1, 60, 3600, 86400, 0xfffffffe, 5]
SUB_IDS = [0, 1, 2, 7, 42, 268435455, 268435456, 0xffffffff]


def raw(s):
    return s.encode('latin-1') if isinstance(s, str) else bytes(s)


def pick(dictionary, s):
    """A string operand: its dictionary index, else a literal."""
    for i, d in enumerate(dictionary):
        if raw(d) == raw(s):
            return bytes([i])
    b = raw(s)
    assert len(b) < 128
    return bytes([0x80 | len(b)]) + b


def prop(name):
    return bytes([PROPERTIES.index(name)])


def u16(n):
    return struct.pack('>H', n)


def blob(b):
    b = raw(b)
    assert len(b) < 256
    return bytes([len(b)]) + b


class Seed:
    def __init__(self, header):
        self.out = bytearray([header])

    def op(self, kind, partition=0, f=0):
        self.out.append(partition << 7 | f << 4 | kind)
        return self

    def raw_record(self, p, type_, key, value):
        self.op(0, p)
        self.out += bytes([type_]) + pick(TOPICS, key) + blob(value)
        return self

    def session(self, p, client, subs, v5=False, expiry=None):
        f = (1 if v5 else 0) | (4 if expiry is not None else 0)
        self.op(1, p, f)
        self.out += pick(CLIENTS, client)
        if expiry is not None:
            self.out.append(EXPIRIES.index(expiry))
        self.out.append(len(subs))
        for filter_, qos, extra in subs:
            sub_id = extra.get('id', 0)
            o = qos | (4 if extra.get('no_local') else 0) | (8 if extra.get('rap') else 0)
            self.out += pick(FILTERS, filter_) + bytes([o | SUB_IDS.index(sub_id) << 4])
        return self

    def message(self, p, topic, payload, qos=1, retain=False, expiry=None, props=None,
                origin=None, packet_id=None, copy=False):
        self.op(12 if copy else 2, p)
        m = qos | (4 if retain else 0)
        m |= (8 if expiry is not None else 0) | (16 if props else 0)
        m |= (32 if origin is not None else 0) | (64 if packet_id is not None else 0)
        self.out += pick(TOPICS, topic) + bytes([m])
        if expiry is not None:
            self.out.append(expiry)  # now + (expiry - 64) * 100 ms
        if props:
            self.out += prop(props)
        if origin is not None:
            self.out += pick(CLIENTS, origin)
        if packet_id is not None:
            self.out += u16(packet_id)
        self.out += blob(payload)
        return self

    def end(self, p, client):
        self.op(3, p)
        self.out += pick(CLIENTS, client)
        return self

    def consumed(self, p, client, offsets):
        self.op(4, p)
        self.out += pick(CLIENTS, client) + bytes([len(offsets)]) + bytes(offsets)
        return self

    def release(self, p, client, packet_id, out_complete=False):
        self.op(8 if out_complete else 5, p)
        self.out += pick(CLIENTS, client) + u16(packet_id)
        return self

    def pending(self, p, client, ids):
        self.op(6, p)
        self.out += pick(CLIENTS, client) + bytes([len(ids)]) + b''.join(u16(i) for i in ids)
        return self

    @staticmethod
    def entry(packet_id, released=False, partition=0, offset=0):
        return u16(packet_id) + bytes([1 if released else 0, partition, offset])

    def qos2_out(self, p, client, *entry):
        self.op(7, p)
        self.out += pick(CLIENTS, client) + self.entry(*entry)
        return self

    def qos2_out_pending(self, p, client, entries):
        self.op(9, p)
        self.out += pick(CLIENTS, client) + bytes([len(entries)])
        for e in entries:
            self.out += self.entry(*e)
        return self

    def checkpoint(self, p, begin=True):
        return self.op(10 if begin else 11, p)

    def clock(self, p, ms):
        self.op(13, p)
        self.out += struct.pack('b', ms)
        return self

    def trim(self, p, below=None):
        if below is None:
            return self.op(14, p, 1)
        self.op(14, p)
        self.out.append(below)
        return self

    def flush(self, p):
        return self.op(15, p)


def seeds():
    yield 'owed_across_partitions', (
        Seed(LOG | OBSERVER | 1 << 4)
        .session(1, 'c0', [('a/#', 2, {}), ('b', 1, {})])
        .message(0, 'a/b', b'one', qos=1)
        .message(1, 'a/c', b'two', qos=2)
        .message(0, 'b', b'three', qos=2)
        .message(1, 'a', b'zero', qos=0)
        .consumed(1, 'c0', [1, 0])
        .message(0, 'a/b', b'four', qos=1))
    yield 'v5_session_properties', (
        Seed(LOG | 2 << 4)
        .session(0, 'c1', [('a/+', 2, {'id': 7, 'rap': True}), ('#', 1, {'id': 42})],
                 v5=True, expiry=3600)
        .message(0, 'a/b', b'text', qos=2, retain=True, props='payload-format-utf8', expiry=100)
        .message(1, 'a/c', b'\x01\x02', qos=1, props='user-property')
        .message(1, 'a/b', b'gone', qos=1, expiry=10)
        .message(0, 'b', b'corr', qos=2, props='correlation-data', origin='c1'))
    yield 'retained_and_copies', (
        Seed(OBSERVER)
        .message(0, 'r/1', b'kept', qos=1, retain=True)
        .message(1, 'r/2', b'cleared', qos=0, retain=True)
        .message(1, 'r/2', b'', qos=0, retain=True)
        .message(0, 'r/1', b'copy', retain=True, copy=True)
        .message(0, '$SYS/x', b'sys', retain=True))
    yield 'qos2_both_directions', (
        Seed(LOG | 1 << 4)
        .session(0, 'c0', [('a', 2, {})])
        .session(0, 'c1', [])
        .message(0, 'a', b'in', qos=2, origin='c1', packet_id=7)
        .message(0, 'a', b'in2', qos=2, origin='c1', packet_id=8)
        .release(0, 'c1', 7)
        .qos2_out(0, 'c0', 5, False, 0, 2)
        .qos2_out(0, 'c0', 6, False, 0, 3)
        .qos2_out(0, 'c0', 6, True)
        .release(0, 'c0', 6, out_complete=True)
        .pending(1, 'c1', [8, 9])
        .qos2_out_pending(1, 'c0', [(5, False, 0, 2), (9, True)]))
    trimmed = Seed(LOG | OBSERVER | 3 << 4).session(0, 'c2', [('a/#', 1, {})])
    for i in range(12):
        trimmed.message(0, 'a/b', b'p' * 120, qos=1).flush(0)
    (trimmed.checkpoint(0).session(0, 'c2', [('a/#', 1, {})]).consumed(0, 'c2', [10, 0])
     .message(0, 'r/1', b'kept', retain=True, copy=True).checkpoint(0, begin=False).flush(0)
     .message(0, 'a/c', b'after', qos=1).trim(0, below=12))
    yield 'checkpoint_in_trimmed_partition', trimmed
    spill = Seed(TWO_SHARDS | SMALL_QUEUES | LOG | 2 << 4)
    for c in ['c0', 'c1', 'c2', 'c3']:
        spill.session(0, c, [('a/#', 1, {}), ('$share/g/a/#', 1, {})])
    for i in range(10):
        spill.message(i % 2, 'a/b' if i % 3 else 'a', b'm%d' % i, qos=1 + i % 2)
    spill.end(1, 'c3').clock(1, -5)
    yield 'two_shards_small_queues', spill
    retention = (Seed(SMALL_QUEUES | LOG | OBSERVER | 3 << 4)
                 .session(0, 'c0', [('a/#', 1, {})]).session(1, 'c1', [('a/#', 2, {})]))
    for i in range(16):
        retention.message(i % 2, 'a/b', b'p' * 150, qos=1 + i % 2).flush(i % 2)
    yield 'retention_behind_spilled_backlogs', retention
    # Retention by the restarted broker keeps a hostile checkpoint as the partition's first:
    # the next start applies it before everything else.
    hostile_checkpoint = Seed(SMALL_QUEUES | LOG | 3 << 4).session(0, 'c0', [('a/#', 1, {})])
    for i in range(10):
        hostile_checkpoint.message(0, 'a/b', b'p' * 150, qos=1).flush(0)
    (hostile_checkpoint.checkpoint(0).raw_record(0, 57, 'a/c', b'\x03')
     .raw_record(0, 2, 'c1', b'\x04\x00\x01\x05a/#/b\x01\x00')
     .message(0, '#', b'x', qos=0, retain=True, copy=True).checkpoint(0, begin=False)
     .message(0, 'a/c', b'after', qos=1).flush(0))
    yield 'hostile_checkpoint_kept_by_retention', hostile_checkpoint
    yield 'session_ends_and_returns', (
        Seed(0)
        .session(0, 'c0', [('a', 1, {})])
        .message(0, 'a', b'old', qos=1)
        .end(1, 'c0')
        .session(1, 'c0', [('a', 1, {'no_local': True})], v5=True, expiry=60)
        .message(0, 'a', b'own', qos=1, origin='c0')
        .message(1, 'a', b'new', qos=1))
    yield 'raw_records', (
        Seed(LOG)
        .session(0, 'c0', [('a/#', 1, {})])
        .raw_record(0, 99, 'a', b'unknown type')
        .raw_record(0, 1, 'a/b', b'\x01\x00\x00payload')
        .raw_record(1, 1, 'a/b', b'\xff')
        .raw_record(1, 2, 'c1', b'\x04\xff\xff\xff\xff\x0f\x01\x01a\x01\x00')
        .raw_record(0, 4, 'c0', b'\x02\x05')
        .raw_record(0, 8, '', b''))

    # Reproducers of what recovery_fuzz found: records no client could have sent, restored and
    # handed to the router and to subscribers (records.h; records_test.cc and recovery_test.cc,
    # RecordsNoClientCouldHaveSentAreSkippedAndCounted).
    yield 'found_retained_topic_not_utf8', (
        Seed(OBSERVER)
        .message(0, 'r/1', b'kept', qos=1, retain=True)
        .message(1, b'\xfb\xf8r/1', b'bad', qos=0, retain=True))
    hostile_filters = Seed(LOG | OBSERVER | 1 << 4)
    hostile_filters.session(0, 'c0', [('a/#/b', 2, {}), ('+x', 1, {}), ('a#', 1, {})], v5=True,
                            expiry=60)
    hostile_filters.session(1, 'c1', [('$share//a', 1, {}), ('a', 1, {'id': 268435456})])
    hostile_filters.session(0, 'c2', [('a/#', 1, {})])
    for topic in ['a', 'a/x/b', '+x', 'a/+', '#', '', 'a\0b', b'\xc3\x28/a']:
        hostile_filters.message(0, topic, b'm', qos=1)
    yield 'found_invalid_filters_and_topics', hostile_filters
    hostile_properties = Seed(LOG | OBSERVER | 1 << 4)
    hostile_properties.session(0, 'c0', [('#', 2, {'id': 7})], v5=True, expiry=60)
    for name in ['payload-format-utf8', 'topic-alias-5', 'payload-format-twice', 'trailing-byte',
                 'subscription-id', 'message-expiry', 'session-expiry']:
        hostile_properties.message(0, 'a', b'\xff\xfe', qos=1, retain=True, props=name)
    yield 'found_properties_no_publish_carries', hostile_properties

    # What telemq-log prints (recovery_fuzz checks every record's dump and export lines): text
    # that would break a line or drive a terminal, in every field it shows.
    yield 'log_text_control_characters', (
        Seed(0)
        .session(0, 'ctl\n', [('a/\t/#', 1, {})], v5=True)
        .message(0, 'a/\n/"q"\\', b'line\nbreak\x1b[2J', qos=1, origin='c\x1b]0;x\x07')
        .message(1, 'a/b', b'\xc3\x28', qos=1, props='payload-format-bytes')
        .message(1, 'a/\x7f', b'"\\', qos=0, retain=True)
        .end(0, 'a\r\nb'))


if __name__ == '__main__':
    write_corpus('recovery_corpus', seeds())
