// Deterministic id generation: a new id depends only on the ids already present, so the same
// edit on the same spec always produces the same node names (needed for replay after a crash).

/** `base` if free, else `base_2`, `base_3`, ... */
export function uniqueId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}_${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** `prefix_1`, `prefix_2`, ...: the first one not taken. */
export function numberedId(prefix: string, taken: ReadonlySet<string>): string {
  for (let n = 1; ; n++) {
    const candidate = `${prefix}_${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}
