// Small formatting helpers shared by error messages and descriptions.

/** `[8,8,3]` — compact, the way shapes appear in every message. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Lists ids for "known nodes: ..." hints without flooding a message on a 256-node graph. */
export function formatIdList(ids: readonly string[], max = 12): string {
  if (ids.length <= max) return ids.join(', ');
  return `${ids.slice(0, max).join(', ')}, ... (${ids.length - max} more)`;
}

/**
 * Invisible characters (zero-width spaces and joiners, bidirectional marks and overrides, BOM, soft
 * hyphen) as \u escapes, so "h1\u200b" is not shown as "h1" in a message saying it does not exist.
 */
export function showInvisible(text: string): string {
  return text.replace(/[\p{Cf}\u2028\u2029]/gu, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

/** Stable text for any value a user may have put in a numeric field (NaN, strings, undefined). */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return showInvisible(JSON.stringify(value));
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'missing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
