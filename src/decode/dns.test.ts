import { describe, expect, it } from 'vitest';
import { dnsMessage } from '../synth/packets.js';
import { seededRandom } from '../synth/random.js';
import { wireName } from '../report/sanitize.js';
import { DnsMessage, MAX_DNS_ANSWERS, MAX_DNS_NAME, parseDns } from './dns.js';

const msg = new DnsMessage();

describe('parseDns', () => {
  it('reads a query', () => {
    const q = dnsMessage({ id: 0x1234, qname: 'chunderw-vpc-gll.twilio.com' });
    expect(parseDns(q, 0, q.length, msg)).toBe(true);
    expect(msg).toMatchObject({ id: 0x1234, response: false, qname: 'chunderw-vpc-gll.twilio.com', qtype: 1, qdcount: 1, ancount: 0 });
    expect(msg.truncated).toBe(false);
    expect(msg.error).toBeNull();
  });

  it('reads A, AAAA and CNAME answers with TTLs and skips other types by rdlength', () => {
    const r = dnsMessage({
      id: 7,
      qname: 'chunderw-vpc-gll.twilio.com',
      answers: [
        { name: 'chunderw-vpc-gll.twilio.com', type: 'CNAME', data: 'public-gll.elb.amazonaws.com', ttl: 30 },
        { name: 'public-gll.elb.amazonaws.com', type: 'A', data: '54.172.60.1', ttl: 0xfffffffe },
        { name: 'public-gll.elb.amazonaws.com', type: 'AAAA', data: '2600:1f18::1', ttl: 5 },
      ],
    });
    expect(parseDns(r, 0, r.length, msg)).toBe(true);
    expect(msg.response).toBe(true);
    expect(msg.rcode).toBe(0);
    expect(msg.answers()).toEqual([
      { name: 'chunderw-vpc-gll.twilio.com', type: 'CNAME', ttl: 30, data: 'public-gll.elb.amazonaws.com' },
      { name: 'public-gll.elb.amazonaws.com', type: 'A', ttl: 0xfffffffe, data: '54.172.60.1' },
      { name: 'public-gll.elb.amazonaws.com', type: 'AAAA', ttl: 5, data: '2600:1f18::1' },
    ]);
    // Replace the AAAA record type by TXT (16): it is skipped, the rest still read.
    const txt = r.slice();
    const aaaaType = txt.length - 16 - 10;
    txt[aaaaType + 1] = 16;
    parseDns(txt, 0, txt.length, msg);
    expect(msg.answers().map((a) => a.type)).toEqual(['CNAME', 'A']);
    expect(msg.skippedAnswers).toBe(1);
  });

  it('reports NXDOMAIN', () => {
    const r = dnsMessage({ id: 9, qname: 'nope.example', rcode: 3 });
    parseDns(r, 0, r.length, msg);
    expect(msg).toMatchObject({ response: true, rcode: 3, qname: 'nope.example' });
  });

  it('follows compression pointers', () => {
    // Header, question www.example.com, answer with owner = pointer to the question name.
    const bytes = [0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    bytes.push(3, ...Buffer.from('www'), 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 1, 0, 1);
    bytes.push(0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, ...Buffer.from('cdn'), 0xc0, 16); // CNAME cdn.example.com
    const b = Uint8Array.from(bytes);
    parseDns(b, 0, b.length, msg);
    expect(msg.answers()).toEqual([{ name: 'www.example.com', type: 'CNAME', ttl: 60, data: 'cdn.example.com' }]);
  });

  it('stops on a pointer loop and on a deep pointer chain', () => {
    const loop = Uint8Array.from([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12]);
    expect(parseDns(loop, 0, loop.length, msg)).toBe(true);
    expect(msg.error).toBe('bad-pointer');
    expect(msg.qname).toBeNull();
    // Question = pointer to the end of a chain of n pointers, each to the one before, the first to "a".
    const chain = (n: number): Uint8Array => {
      const b = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 1, 0, 1, 1, 0x61, 0];
      let prev = 18;
      for (let i = 0; i < n; i++) {
        const here = b.length;
        b.push(0xc0, prev);
        prev = here;
      }
      b[13] = prev;
      return Uint8Array.from(b);
    };
    const short = chain(10);
    parseDns(short, 0, short.length, msg);
    expect(msg.error).toBeNull();
    expect(msg.qname).toBe('a');
    const long = chain(40);
    parseDns(long, 0, long.length, msg);
    expect(msg.error).toBe('bad-pointer');
    expect(msg.qname).toBeNull();
  });

  it('rejects extended label types', () => {
    const b = Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0]);
    parseDns(b, 0, b.length, msg);
    expect(msg.error).toBe('bad-label');
  });

  it('escapes non-printable bytes in names', () => {
    const b = Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x1b, 0x5b, 0, 0, 1, 0, 1]);
    parseDns(b, 0, b.length, msg);
    expect(msg.qname).toBe('a\\x1b[');
  });

  it('names are the labels escaped by wireName, joined by dots and cut at MAX_DNS_NAME; foldCase lowers them', () => {
    const rand = seededRandom(7);
    for (let round = 0; round < 200; round++) {
      const labels: Uint8Array[] = [];
      for (let i = 1 + Math.floor(rand() * 8); i > 0; i--)
        labels.push(Uint8Array.from({ length: 1 + Math.floor(rand() * 63) }, () => (rand() < 0.8 ? 0x41 + Math.floor(rand() * 58) : Math.floor(rand() * 256))));
      const b = Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels.flatMap((l) => [l.length, ...l]), 0, 0, 1, 0, 1]);
      const expected = labels.map((l) => wireName(l, 0, l.length)).join('.').slice(0, MAX_DNS_NAME);
      parseDns(b, 0, b.length, msg);
      expect(msg.qname).toBe(expected);
      parseDns(b, 0, b.length, msg, true);
      expect(msg.qname).toBe(expected.toLowerCase());
      // The same name split by a pointer after its first k labels (the rest after the question), and by two.
      const k = Math.floor(rand() * labels.length);
      const wire = (ls: Uint8Array[]) => ls.flatMap((l) => [l.length, ...l]);
      const rest = 12 + wire(labels.slice(0, k)).length + 2 + 4;
      const split = Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...wire(labels.slice(0, k)), 0xc0 | (rest >> 8), rest & 0xff, 0, 1, 0, 1, ...wire(labels.slice(k)), 0]);
      parseDns(split, 0, split.length, msg);
      expect(msg.qname).toBe(expected);
      parseDns(split, 0, split.length, msg, true);
      expect(msg.qname).toBe(expected.toLowerCase());
      const tail = rest + wire(labels.slice(k, k + 1)).length + 2;
      const twice = Uint8Array.from([...split.subarray(0, rest), ...wire(labels.slice(k, k + 1)), 0xc0 | (tail >> 8), tail & 0xff, ...wire(labels.slice(k + 1)), 0]);
      parseDns(twice, 0, twice.length, msg, true);
      expect(msg.qname).toBe(expected.toLowerCase());
    }
  });

  it('gives the same name for the same labels in any case when folding, and keeps the case otherwise', () => {
    const query = (name: string) => dnsMessage({ id: 1, qname: name });
    for (const name of ['WWW.Example.COM', 'www.example.com', 'www.EXAMPLE.com']) {
      const b = query(name);
      parseDns(b, 0, b.length, msg, true);
      expect(msg.qname).toBe('www.example.com');
      parseDns(b, 0, b.length, msg);
      expect(msg.qname).toBe(name);
    }
  });

  it('parses what is there at every truncation point and flags it', () => {
    const r = dnsMessage({
      id: 3,
      qname: 'a.example',
      answers: [
        { name: 'a.example', type: 'CNAME', data: 'b.example' },
        { name: 'b.example', type: 'A', data: '10.0.0.1' },
      ],
    });
    for (let end = 0; end < r.length; end++) {
      const ok = parseDns(r, 0, end, msg);
      expect(ok).toBe(end >= 12);
      if (ok) expect(msg.truncated || msg.error !== null).toBe(true);
      expect(msg.answers().length).toBeLessThanOrEqual(2);
    }
    parseDns(r, 0, r.length, msg);
    expect(msg.truncated).toBe(false);
  });

  it('caps the answers kept', () => {
    const answers = Array.from({ length: MAX_DNS_ANSWERS + 5 }, (_, i) => ({ name: 'x.example', type: 'A' as const, data: `10.0.${i >> 8}.${i & 255}` }));
    const r = dnsMessage({ id: 1, qname: 'x.example', answers });
    parseDns(r, 0, r.length, msg);
    expect(msg.answers()).toHaveLength(MAX_DNS_ANSWERS);
    expect(msg.skippedAnswers).toBe(5);
  });

  it('keeps A addresses as signed 32-bit numbers, and answers() formats them as the wire text', () => {
    const r = dnsMessage({
      id: 3,
      qname: 'x.example',
      answers: [
        { name: 'x.example', type: 'A', data: '10.1.2.3', ttl: 1 },
        { name: 'x.example', type: 'A', data: '254.0.10.200', ttl: 2 },
        { name: 'x.example', type: 'AAAA', data: '2001:db8::a', ttl: 3 },
      ],
    });
    parseDns(r, 0, r.length, msg);
    expect(msg.answerCount).toBe(3);
    expect([msg.isA(0), msg.isA(1), msg.isA(2), msg.isCname(2)]).toEqual([true, true, false, false]);
    expect([msg.answerIp4s[0], msg.answerIp4s[1] >>> 0]).toEqual([0x0a010203, 0xfe000ac8]);
    expect(msg.answers().map((a) => a.data)).toEqual(['10.1.2.3', '254.0.10.200', '2001:db8::a']);
    // Fresh objects each time: a kept list is not changed by the next parse.
    const kept = msg.answers();
    expect(kept).not.toBe(msg.answers());
    parseDns(r, 0, 20, msg);
    expect(kept.map((a) => a.ttl)).toEqual([1, 2, 3]);
    expect(msg.answers()).toEqual([]);
  });

  it('honours off/end inside a larger buffer (DNS over TCP)', () => {
    const q = dnsMessage({ id: 5, qname: 'tcp.example' });
    const framed = new Uint8Array(q.length + 2 + 4);
    framed.set([q.length >> 8, q.length & 255], 0);
    framed.set(q, 2);
    framed.fill(0xff, 2 + q.length);
    expect(parseDns(framed, 2, 2 + q.length, msg)).toBe(true);
    expect(msg.qname).toBe('tcp.example');
  });
});
