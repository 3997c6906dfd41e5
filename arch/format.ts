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

/** Stable text for any value a user may have put in a numeric field (NaN, strings, undefined). */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'missing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
