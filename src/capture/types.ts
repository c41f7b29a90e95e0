/** Types shared by every capture source (file readers and live capture). */

/**
 * One captured packet as handed out by a reader.
 * `data` is a view into the reader's buffer: it is valid only until the next
 * packet is delivered. Copy anything you keep.
 */
export interface RawPacket {
  data: Uint8Array;
  /**
   * When set, the packet is also `buf[dataOff, dataOff + caplen)`: the reader's
   * own buffer, also valid only until the next packet. Per-packet code reads
   * this rather than `data`, which the file reader creates on first access.
   */
  buf?: Uint8Array;
  dataOff?: number;
  /** Bytes captured (== data.length). */
  caplen: number;
  /** Length of the packet on the wire. */
  origLen: number;
  /** Integer seconds since the epoch. */
  tsSec: number;
  /** Nanoseconds within the second, 0..999_999_999 (clamped if the file lies). */
  tsNsec: number;
  /** LINKTYPE_* value (see linkTypeName). Upper bits of the pcap field already masked. */
  linkType: number;
  /** pcapng interface id within its section (0 for classic pcap). */
  interfaceId: number;
  /** Byte offset of this record in its (decompressed) input. */
  offset: number;
  /** pcapng opt_comment of the packet, if any. */
  comment: string | null;
}

export interface CaptureErrorInfo {
  offset: number;
  message: string;
}

/** Interface statistics from a pcapng ISB (or from libpcap for live capture). */
export interface InterfaceDrops {
  interfaceId: number;
  /** Packets dropped by the interface/kernel (isb_ifdrop / ps_drop); null when unknown. */
  ifDrop: number | null;
  /** Packets dropped by the OS/filter (isb_osdrop); null when unknown. */
  osDrop: number | null;
  /** isb_ifrecv when given. */
  received: number | null;
}

export interface SourceInfo {
  path: string;
  format: 'pcap' | 'pcapng';
  gzip: boolean;
  /** Link type names seen, e.g. ["ETHERNET", "LINUX_SLL"], in order of first appearance. */
  linkTypes: string[];
  packets: number;
  /** Bytes of input consumed (decompressed). */
  bytes: number;
  /** Smallest snaplen declared (pcap header / IDBs); null if none. */
  snaplen: number | null;
  /** Packets whose caplen < origLen. */
  snaplenTruncatedPackets: number;
  /** The file ended mid-record or a corrupt record stopped reading. */
  truncated: boolean;
  errors: CaptureErrorInfo[];
  warnings: string[];
  drops: InterfaceDrops[];
  /** Name resolution records (pcapng NRB): ip string -> names. Bounded. */
  names: Array<{ ip: string; names: string[] }>;
  /** Section / file comments (pcapng SHB opt_comment). */
  comments: string[];
}

/** Thrown when an input cannot be read at all (missing file, not a capture). Maps to exit code 2. */
export class CaptureOpenError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'CaptureOpenError';
  }
}

/** Thrown by a parser when the input ends mid-record or a record is corrupt. */
export class TruncatedCaptureError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'TruncatedCaptureError';
  }
}

export type PacketSink = (pkt: RawPacket) => void;
