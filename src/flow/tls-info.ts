/**
 * The TlsInfo the TLS analyzer fills, laid out for the tens of thousands of
 * connections that can be live at once. Read and written like the plain
 * object newTlsInfo() makes, with the same values:
 * - hello times are kept as the two int32 halves of the double: a double
 *   field would point to a 16-byte heap number of its own;
 * - what few flows have (alerts, the server certificate) lives in an object
 *   made on first use.
 */
import type { TlsInfo } from './flow.js';

type TlsAlerts = TlsInfo['alerts'];

/** The alerts of a flow that has none: shared and frozen; assign a list of its own to add one. */
export const NO_ALERTS: TlsAlerts = Object.freeze([]) as unknown as TlsAlerts;

/** Both halves of a missing time (a NaN no clock gives). */
const NO_TIME = -1;

const timeBits = new Float64Array(1);
const timeWords = new Int32Array(timeBits.buffer);

function timeOf(hi: number, lo: number): number | null {
  if (hi === NO_TIME && lo === NO_TIME) return null;
  timeWords[0] = lo;
  timeWords[1] = hi;
  return timeBits[0];
}

class RareTlsFields {
  alerts: TlsAlerts = NO_ALERTS;
  certSubject: string | null = null;
  certIssuer: string | null = null;
  certSans: string[] | null = null;
}

export class TlsInfoRecord implements TlsInfo {
  sni: string | null = null;
  /** Shared by the connections that sent the same list (interned, frozen). */
  alpn: string[] | null = null;
  version: string | null = null;
  clientHelloFrame: number | null = null;
  serverHelloFrame: number | null = null;
  private clientHelloHi = NO_TIME;
  private clientHelloLo = NO_TIME;
  private serverHelloHi = NO_TIME;
  private serverHelloLo = NO_TIME;
  private rare: RareTlsFields | null = null;

  constructor(public dtls: boolean) {}

  get clientHelloTs(): number | null {
    return timeOf(this.clientHelloHi, this.clientHelloLo);
  }

  set clientHelloTs(ts: number | null) {
    if (ts === null) {
      this.clientHelloHi = this.clientHelloLo = NO_TIME;
      return;
    }
    timeBits[0] = ts;
    this.clientHelloHi = timeWords[1];
    this.clientHelloLo = timeWords[0];
  }

  get serverHelloTs(): number | null {
    return timeOf(this.serverHelloHi, this.serverHelloLo);
  }

  set serverHelloTs(ts: number | null) {
    if (ts === null) {
      this.serverHelloHi = this.serverHelloLo = NO_TIME;
      return;
    }
    timeBits[0] = ts;
    this.serverHelloHi = timeWords[1];
    this.serverHelloLo = timeWords[0];
  }

  get alerts(): TlsAlerts {
    return this.rare?.alerts ?? NO_ALERTS;
  }

  set alerts(alerts: TlsAlerts) {
    this.rareFields().alerts = alerts;
  }

  get certSubject(): string | null {
    return this.rare?.certSubject ?? null;
  }

  set certSubject(subject: string | null) {
    this.rareFields().certSubject = subject;
  }

  get certIssuer(): string | null {
    return this.rare?.certIssuer ?? null;
  }

  set certIssuer(issuer: string | null) {
    this.rareFields().certIssuer = issuer;
  }

  get certSans(): string[] | null {
    return this.rare?.certSans ?? null;
  }

  set certSans(sans: string[] | null) {
    this.rareFields().certSans = sans;
  }

  private rareFields(): RareTlsFields {
    return (this.rare ??= new RareTlsFields());
  }
}
