/**
 * The built-in policy: Spoke Phone's network connectivity requirements
 * (the seed document, /work/shared/seed/spoke-network-requirements.txt) as data.
 * Everything beyond that document carries a `source`; docs/policy.md has the table.
 */
import type { MediaEdge, Policy, SignallingHost } from './types.js';

export const SPOKE_REQUIREMENTS_URL =
  'https://support.spokephone.com/hc/en-us/articles/4404550260493-Spoke-Phone-Network-Connectivity-Requirements';
const TWILIO_VOICE_JS_REGIONS = 'https://github.com/twilio/twilio-voice.js/blob/master/lib/twilio/regions.ts';
const TWILIO_VOICE_JS_230 = 'https://www.twilio.com/docs/voice/sdks/javascript/changelog#230-january-23-2023';
const TWILIO_MEDIA_IP_FAQ = 'https://www.twilio.com/docs/voice/voice-media-ip-expansion-security-faq';

const CHUNDERW_LEGACY =
  'used only by Twilio Voice JS SDK < 2.3.0 (January 2023); later SDKs connect to voice-js.{edge}.twilio.com';

/** Twilio's shared media range; since 10 October 2023 the only one Twilio uses. */
export const TWILIO_SHARED_MEDIA = '168.86.128.0/18';

const desktopAndMobile = (): SignallingHost['clients'] => ['desktop', 'mobile'];
const tls443 = (): Pick<SignallingHost, 'proto' | 'ports'> => ({ proto: 'tcp', ports: [443] });

const signalling: SignallingHost[] = [
  {
    id: 'spoke-gateway',
    label: 'Spoke application gateway',
    pattern: '*.spokephone.com',
    class: 'spoke-signalling',
    service: 'spoke-gateway',
    clients: desktopAndMobile(),
    ...tls443(),
    required: true,
  },
  {
    id: 'twilio-chunderw-gll',
    label: 'Twilio signalling gateway (desktop, GLL)',
    pattern: 'chunderw-gll.twilio.com',
    class: 'twilio-signalling',
    service: 'chunderw-gll',
    clients: ['desktop'],
    ...tls443(),
    required: true,
    edge: 'gll',
    legacy: CHUNDERW_LEGACY,
  },
  {
    id: 'twilio-chunderw-vpc-gll',
    label: 'Twilio signalling gateway (desktop, GLL, VPC)',
    pattern: 'chunderw-vpc-gll.twilio.com',
    class: 'twilio-signalling',
    service: 'chunderw-vpc-gll',
    clients: ['desktop'],
    ...tls443(),
    required: true,
    edge: 'gll',
    legacy: CHUNDERW_LEGACY,
  },
  {
    id: 'twilio-chunderw-vpc-gll-region',
    label: 'Twilio regional signalling gateway (desktop)',
    pattern: 'chunderw-vpc-gll-{region}.twilio.com',
    class: 'twilio-signalling',
    service: 'chunderw-vpc-gll',
    clients: ['desktop'],
    ...tls443(),
    required: true,
    legacy: CHUNDERW_LEGACY,
  },
  {
    id: 'twilio-voice-js',
    label: 'Twilio Voice JS SDK signalling gateway (desktop, SDK >= 2.3.0)',
    pattern: 'voice-js.{edge}.twilio.com',
    class: 'twilio-signalling',
    service: 'voice-js',
    clients: ['desktop'],
    ...tls443(),
    required: true,
    source: `${TWILIO_VOICE_JS_REGIONS} (createChunderEdgeURI); ${TWILIO_VOICE_JS_230}`,
  },
  {
    id: 'twilio-eventgw',
    label: 'Twilio Insights logging gateway',
    pattern: 'eventgw.twilio.com',
    class: 'twilio-signalling',
    service: 'eventgw',
    clients: desktopAndMobile(),
    ...tls443(),
    required: true,
  },
  {
    id: 'twilio-chunderm-gll',
    label: 'Twilio signalling gateway (mobile, GLL)',
    pattern: 'chunderm.gll.twilio.com',
    class: 'twilio-signalling',
    service: 'chunderm-gll',
    clients: ['mobile'],
    ...tls443(),
    required: true,
    edge: 'gll',
  },
  {
    id: 'twilio-chunderm-region',
    label: 'Twilio regional signalling gateway (mobile)',
    pattern: 'chunderm.{region}.gll.twilio.com',
    class: 'twilio-signalling',
    service: 'chunderm-gll',
    clients: ['mobile'],
    ...tls443(),
    required: true,
  },
  {
    id: 'twilio-ers',
    label: 'Twilio registration server (mobile)',
    pattern: 'ers.twilio.com',
    class: 'twilio-signalling',
    service: 'ers',
    clients: ['mobile'],
    ...tls443(),
    required: true,
  },
];

/** [id, location in the seed, Twilio's edge id (for voice-js.{edge}), the edge's own two ranges]. */
const EDGE_TABLE: Array<[string, string, string, [string, string]]> = [
  ['au1', 'sydney', 'sydney', ['54.252.254.64/26', '3.104.90.0/24']],
  ['br1', 'são-paulo', 'sao-paulo', ['177.71.206.192/26', '18.228.249.0/24']],
  ['ie1', 'dublin', 'dublin', ['54.171.127.192/26', '52.215.127.0/24']],
  ['de1', 'frankfurt', 'frankfurt', ['35.156.191.128/25', '3.122.181.0/24']],
  ['jp1', 'tokyo', 'tokyo', ['54.65.63.192/26', '3.112.80.0/24']],
  ['sg1', 'singapore', 'singapore', ['54.169.127.128/26', '3.1.77.0/24']],
  ['us1', 'ashburn', 'ashburn', ['54.172.60.0/23', '34.203.250.0/23']],
];

const edgeSource = `legacy marking: ${TWILIO_MEDIA_IP_FAQ}; alias: ${TWILIO_VOICE_JS_REGIONS}`;

const regionalEdges: MediaEdge[] = EDGE_TABLE.map(([id, name, alias, own]) => ({
  id,
  name,
  cidrs: [TWILIO_SHARED_MEDIA, ...own],
  legacyCidrs: [...own],
  aliases: [alias],
  source: edgeSource,
}));

const allOwnRanges = EDGE_TABLE.flatMap(([, , , own]) => own);

/** "roaming (gll): all IP addresses listed above". */
const roamingEdge: MediaEdge = {
  id: 'gll',
  name: 'roaming',
  cidrs: [TWILIO_SHARED_MEDIA, ...allOwnRanges],
  legacyCidrs: [...allOwnRanges],
  aliases: ['roaming'],
  roaming: true,
  source: edgeSource,
};

export const SPOKE_TWILIO_POLICY: Policy = {
  name: 'Spoke Phone / Twilio network requirements',
  version: '2024-seed+2',
  source: SPOKE_REQUIREMENTS_URL,
  signalling,
  regions: EDGE_TABLE.map(([id]) => id).sort(),
  media: {
    proto: 'udp',
    portRange: [10000, 60000],
    shared: [TWILIO_SHARED_MEDIA],
    edges: [...regionalEdges, roamingEdge],
  },
  limits: {
    minKbps: 100,
    maxRttMs: 100,
    maxJitterMs: 10,
    maxLossPct: 1,
    // Each setup step (TCP SYN→SYN/ACK, TLS ClientHello→ServerHello, STUN request→response)
    // is one round trip: 3× the 100 ms RTT limit leaves room for server time, so slower
    // points at stateful packet inspection, which the seed warns "high UDP or TCP connection times".
    maxSetupMs: 300,
  },
  rules: { outboundOnly: true, noVpn: true, noMpls: true, noVdi: true, noSpi: true },
};
