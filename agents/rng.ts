import { hash64 } from '../arch/hash.ts';

// Seeded randomness for agents. Agents keep no state between calls: each proposal draws from
// createRng(deriveSeed(campaignSeed, n)), so re-proposing experiment n after a crash or replay
// yields the same proposal.

export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number;
  /** Uniform element; throws on an empty array. */
  pick<T>(items: readonly T[]): T;
  /** True with probability p. */
  chance(p: number): boolean;
  /** k distinct elements (all of them, shuffled, if k ≥ length). */
  sample<T>(items: readonly T[], k: number): T[];
}

/** mulberry32: tiny, fast, and good enough for search decisions (not for cryptography). */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number): number => {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new Error(`rng.int: invalid range [${lo}, ${hi}]`);
    return lo + Math.floor(next() * (hi - lo + 1));
  };
  return {
    next,
    int,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('rng.pick: cannot pick from an empty list');
      return items[int(0, items.length - 1)]!;
    },
    chance(p: number): boolean {
      return next() < p;
    },
    sample<T>(items: readonly T[], k: number): T[] {
      // Partial Fisher–Yates on a copy: only the first k positions are drawn.
      const copy = [...items];
      const count = Math.min(Math.max(0, k), copy.length);
      for (let i = 0; i < count; i++) {
        const j = int(i, copy.length - 1);
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy.slice(0, count);
    },
  };
}

/** A 32-bit seed from any parts; `1` and `"1"` give different seeds. */
export function deriveSeed(...parts: (string | number)[]): number {
  return hash64(JSON.stringify(parts.map((part) => (typeof part === 'number' ? ['n', part] : ['s', part]))))[0];
}
