/**
 * Text that came from a file or from another user (a journal's reason or image path, a sidecar)
 * made safe to print: control characters and the invisible ones that reorder or hide text
 * (terminal escapes, carriage return, bidirectional overrides) are shown as escapes, so such text
 * cannot overwrite a line or make one answer read as another.
 */
// C0 and C1 controls, DEL, line/paragraph separators, bidi embeddings, overrides and isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

export function printable(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    const code = ch.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** `text` as one single-quoted word of a POSIX shell (a script trackfs writes, a line it shows). */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
