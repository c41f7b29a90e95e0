/**
 * Names from the wire (SNI, DNS, certificates, comments) are hostile: they can
 * carry terminal escape sequences or HTML. Everything printed goes through here.
 */

const MAX_NAME = 255;

/**
 * Make a wire string safe for a terminal or a log: control characters (C0, DEL,
 * C1), bidi overrides and other invisible format characters are replaced by
 * \xNN / \u{NNNN} escapes, and the length is capped.
 */
export function sanitizeText(s: string, max = MAX_NAME): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if ((c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c === 0xfeff)
      out += `\\u{${c.toString(16)}}`;
    else out += ch;
    if (out.length >= max) return out.slice(0, max) + '…';
  }
  return out;
}

/** Decode wire bytes as a name: bytes outside printable ASCII become \xNN. Never throws. */
export function wireName(buf: Uint8Array, off: number, len: number, max = MAX_NAME): string {
  const end = Math.min(buf.length, off + Math.min(len, max));
  let out = '';
  for (let i = off; i < end; i++) {
    const b = buf[i];
    out += b >= 0x21 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

const HTML_ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape for HTML text or attribute values (after sanitizeText). */
export function escapeHtml(s: string): string {
  return sanitizeText(s, 4096).replace(/[&<>"']/g, (c) => HTML_ESC[c]);
}
