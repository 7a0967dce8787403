/**
 * Text from a journal or a daemon shown on a terminal: control characters (an escape sequence in
 * a crafted `reason` could repaint "trusted yes" over an untrusted journal) are shown escaped.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
