import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCommand } from './args.js';

const usage = (argv: string[]) => {
  try {
    parseCommand(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(CliUsageError);
    return (e as Error).message;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
};

describe('parseCommand', () => {
  it('reads captures with or without the analyze word, and every option', () => {
    const cmd = parseCommand(['analyze', 'a.pcap', '-', '--json', '--html', 'r.html', '--no-tui', '--no-color', '--policy', 'p.json', '--internal', '10.0.0.0/8', '--internal', '2001:db8::/32', '--edge', 'us1']);
    expect(cmd).toEqual({
      kind: 'analyze',
      inputs: ['a.pcap', '-'],
      json: true,
      html: 'r.html',
      noTui: true,
      noColor: true,
      policyPath: 'p.json',
      internal: ['10.0.0.0/8', '2001:db8::/32'],
      edge: 'us1',
    });
    expect(parseCommand(['x.pcapng'])).toMatchObject({ kind: 'analyze', inputs: ['x.pcapng'], json: false, html: null, internal: [], edge: null });
  });

  it('answers --help and --version before anything else', () => {
    expect(parseCommand(['x.pcap', '--help'])).toEqual({ kind: 'help' });
    expect(parseCommand(['-h'])).toEqual({ kind: 'help' });
    expect(parseCommand(['--version'])).toEqual({ kind: 'version' });
  });

  it('parses live and interfaces', () => {
    expect(parseCommand(['live', '-i', 'eth0', '-f', 'udp', '--duration', '30', '--write', 'o.pcapng'])).toEqual({
      kind: 'live',
      iface: 'eth0',
      filter: 'udp',
      durationS: 30,
      write: 'o.pcapng',
    });
    expect(parseCommand(['interfaces'])).toEqual({ kind: 'interfaces' });
  });

  it('rejects mistakes with one sentence that says what to do', () => {
    expect(usage(['--frobnicate', 'a.pcap'])).toBe("unknown option '--frobnicate'; run 'spokecap --help' for usage");
    expect(usage(['a.pcap', '--html'])).toBe("option '--html' needs a value; run 'spokecap --help' for usage");
    expect(usage(['a.pcap', '--json=yes'])).toBe("option '--json' takes no value; run 'spokecap --help' for usage");
    expect(usage([])).toMatch(/^no capture file given: run 'spokecap <capture.pcap>'/);
    expect(usage(['analyze'])).toMatch(/^no capture file given/);
    expect(usage(['a.pcap', '-i', 'eth0'])).toBe("option --interface is only for 'spokecap live'; run 'spokecap --help' for usage");
    expect(usage(['live'])).toMatch(/needs an interface: add -i <iface>/);
    expect(usage(['live', '-i', 'eth0', '--duration', 'abc'])).toMatch(/--duration must be a positive number/);
    expect(usage(['interfaces', 'extra'])).toMatch(/takes no arguments/);
    for (const m of [usage(['--frobnicate']), usage([])]) expect(m.split(/[.!?](\s|$)/).filter(Boolean)).toHaveLength(1);
  });
});
