/** Findings: the collector (an Analyzer), the pure builder, and their types. */
export { FindingsCollector, certCovers, isAdminProhibited, isUnreachable } from './collector.js';
export type { CollectedEvidence, FindingsSettings, FlowRef, Tier } from './collector.js';
export { buildFindings } from './build.js';
export type { FindingsInput, FindingsResult } from './build.js';
