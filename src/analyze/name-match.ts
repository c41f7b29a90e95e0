/**
 * A regular expression tested against names from the wire (SNI, DNS names,
 * certificate subjects), with the last name's answer kept: a capture's TLS
 * flows repeat a handful of names (the TLS analyzer hands out one interned
 * string per name), so most tests are a string comparison instead of a
 * regular-expression run, which is made for every packet of a flow still
 * being probed.
 */
export class NameMatch {
  private last: string | null = null;
  private lastResult = false;

  constructor(private readonly re: RegExp) {
    if (re.global || re.sticky) throw new Error('NameMatch needs a regular expression without the g or y flag (test() would keep state)');
  }

  test(name: string): boolean {
    if (name !== this.last) {
      this.lastResult = this.re.test(name);
      this.last = name;
    }
    return this.lastResult;
  }
}
