import { describe, expect, it } from 'vitest';
import { newTlsInfo, type TlsInfo } from './flow.js';
import { NO_ALERTS, TlsInfoRecord } from './tls-info.js';

const KEYS = Object.keys(newTlsInfo(false)) as Array<keyof TlsInfo>;
const read = (info: TlsInfo) => Object.fromEntries(KEYS.map((k) => [k, info[k]]));

describe('TlsInfoRecord', () => {
  it('reads like a fresh plain TlsInfo', () => {
    expect(read(new TlsInfoRecord(true))).toEqual(read(newTlsInfo(true)));
    expect(new TlsInfoRecord(false).alerts).toBe(NO_ALERTS);
    expect(Object.isFrozen(NO_ALERTS)).toBe(true);
  });

  it('gives back every value written, hello times bit for bit', () => {
    const times = [1_700_000_000.123456, 0, -0, 1e-9, 1_234_567_890.000001, Number.MAX_VALUE, -5.5, 2 ** 31 + 0.5];
    for (const ts of times) {
      const info = new TlsInfoRecord(false);
      const plain = newTlsInfo(false);
      for (const target of [info, plain] as TlsInfo[]) {
        target.clientHelloTs = ts;
        target.serverHelloTs = ts + 0.25;
        target.clientHelloFrame = 7;
        target.serverHelloFrame = 9;
        target.sni = 'a.example';
        target.version = 'TLS 1.2';
        target.certSubject = 'CN=a.example';
        target.certIssuer = 'CN=CA';
        target.certSans = ['a.example'];
        target.alerts = [{ frame: 3, fromClient: true, level: 2, description: 40 }];
      }
      expect(read(info)).toEqual(read(plain));
      expect(Object.is(info.clientHelloTs, ts)).toBe(true);
    }
    const info = new TlsInfoRecord(false);
    info.clientHelloTs = 5;
    info.clientHelloTs = null;
    expect(info.clientHelloTs).toBeNull();
    expect(info.serverHelloTs).toBeNull();
  });
});
