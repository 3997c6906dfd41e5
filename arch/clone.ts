import type { Spec } from './spec.ts';

// Specs are plain JSON; a recursive copy avoids structuredClone, which is not available inside
// Temporal's workflow sandbox, and keeps NaN/Infinity intact unlike a JSON round trip.

function cloneValue<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneValue) as T;
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) copy[key] = cloneValue(inner);
    return copy as T;
  }
  return value;
}

/** A deep copy sharing no arrays or objects with `spec`. */
export function cloneSpec(spec: Spec): Spec {
  return cloneValue(spec);
}
