/**
 * The contract between the engine and the analyzers (Zeek's analyzer tier).
 * The engine decodes each packet once, finds its flow, then calls every
 * analyzer's onPacket in order. When a flow ends (idle eviction, cap eviction
 * or end of capture) the engine classifies it and then calls onFlowEnd.
 * Analyzers never throw on bad input: malformed application data is counted
 * with ctx.weird() and skipped.
 */
import type { RawPacket } from '../capture/types.js';
import type { PacketView } from '../decode/view.js';
import type { Flow } from '../flow/flow.js';

export interface PacketContext {
  /** 1-based frame number across all inputs. */
  frame: number;
  /** Seconds since the epoch, as a double (tsSec + tsNsec / 1e9). */
  ts: number;
  pkt: RawPacket;
  view: PacketView;
  /** The flow this packet belongs to (null for non-IP packets). */
  flow: Flow | null;
  /** 0 = sent by the flow's client (originator), 1 = by its server. */
  dir: 0 | 1;
  /** 0 for the outer packet; 1+ for packets decapsulated from GRE/L2TP/etc. */
  depth: number;
  /** For a decapsulated packet (depth 1+): the flow of the outermost packet it came in; null (or absent) at depth 0. */
  outerFlow?: Flow | null;
  /** Record an application-level anomaly (counted by name in the report). */
  weird(name: string): void;
}

export interface Analyzer {
  readonly name: string;
  onPacket?(ctx: PacketContext): void;
  /** The flow is closed and classified; keep only what you need (copy, bounded). */
  onFlowEnd?(flow: Flow): void;
  /** End of all input. */
  finish?(): void;
}
