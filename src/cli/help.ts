/** The --help text. Keep in step with docs/cli.md. */
export const HELP = `spokecap: check a packet capture against the Spoke Phone / Twilio network requirements

Usage:
  spokecap [analyze] <capture>... [options]   pcap, pcapng, .gz of either, or - for stdin
  spokecap live -i <iface> [-f <bpf>] [--duration <s>] [--write <file.pcapng>]
  spokecap interfaces                         list capture interfaces

Output:
  (default)            the interactive terminal UI when stdout is a terminal,
                       a plain-text report otherwise
  --json               the JSON report (spokecap.report/1) on stdout, nothing else
  --html <file>        also write a self-contained HTML report to <file>
  --no-tui             plain text even on a terminal
  --no-color           no ANSI colour (NO_COLOR and FORCE_COLOR are honoured too)

Policy:
  --policy <file>      replace the built-in Spoke/Twilio policy with a JSON policy
  --internal <cidr>    a network that counts as ours (repeatable); default RFC 1918,
                       100.64.0.0/10, fc00::/7 and link-local
  --edge <id>          the Twilio edge users have pinned, e.g. us1 (default gll)

Other:
  -h, --help           this help
  -V, --version        the version

Exit codes:
  0  no error-level finding      1  at least one error-level finding
  2  usage error or unreadable input (the message says why)
  3  internal error (a bug: please report it)   130  quit before the analysis finished

Examples:
  spokecap office.pcapng
  spokecap trace.pcap.gz --no-tui --edge us1 --internal 10.0.0.0/8
  zcat trace.pcap.gz | spokecap - --json > report.json
  spokecap a.pcap b.pcap --html report.html
`;

export const LIVE_UNAVAILABLE =
  'live capture is not available in this build yet: capture with tcpdump/dumpcap and run spokecap <file>';
