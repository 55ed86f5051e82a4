/** Default deepest nesting of objects and arrays a JSON request body may have. */
export const MAX_JSON_DEPTH = 32;

/**
 * Measures JSON nesting as the bytes arrive, without parsing: a client
 * could otherwise make the server parse megabytes of `[[[[…` (issue 23,
 * item 5). Strings (with escapes) are skipped, so brackets inside them do
 * not count. Malformed JSON is left for the parser to refuse.
 *
 * @returns a function that takes the next chunk and returns the deepest
 *   nesting seen so far.
 */
export function createJsonDepthMeter(): (chunk: Uint8Array) => number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  let escaped = false;
  return (chunk) => {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) {
        inString = true;
      } else if (c === 0x7b || c === 0x5b) {
        depth++;
        if (depth > deepest) deepest = depth;
      } else if (c === 0x7d || c === 0x5d) {
        depth--;
      }
    }
    return deepest;
  };
}
