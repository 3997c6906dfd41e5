// Plain text tables that fit a terminal width: fixed columns take their content's width, flexible
// columns share what is left (and cut their cells with "…"). No borders, so 80 columns go far.

export interface TextColumn {
  header: string;
  align?: 'left' | 'right';
  /** 0 (default): as wide as its widest cell. > 0: takes this share of the remaining width. */
  flex?: number;
  /** Flexible columns never get narrower than this (default 6). */
  min?: number;
}

export interface TextTableOptions {
  width: number;
  /** Spaces between columns (default 2). */
  gap?: number;
  /** Colours a cell after it has been cut and padded (so widths stay right). */
  style?: (column: number, row: number, padded: string, raw: string) => string;
  /** Styles the header line. */
  headerStyle?: (line: string) => string;
}

/**
 * Length in terminal cells. arlo's text uses single-cell characters from the Basic Multilingual
 * Plane ("—", "…", "±", "→"), one UTF-16 unit each; astral characters (a surrogate pair each)
 * are counted once.
 */
export function visibleLength(text: string): number {
  let n = text.length;
  if (!HAS_SURROGATE.test(text)) return n;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) n--;
  }
  return n;
}

const HAS_SURROGATE = /[\ud800-\udbff]/;

/** `text` cut to `width` cells, ending in "…" when cut. */
export function cut(text: string, width: number): string {
  if (width <= 0) return '';
  if (visibleLength(text) <= width) return text;
  const chars = HAS_SURROGATE.test(text) ? [...text] : null;
  const head = chars ? chars.slice(0, Math.max(0, width - 1)).join('') : text.slice(0, Math.max(0, width - 1));
  return `${head.trimEnd()}…`;
}

/** Column widths for `rows` in `opts.width` cells. */
export function fitWidths(columns: readonly TextColumn[], rows: readonly string[][], width: number, gap = 2): number[] {
  return fitMeasured(columns, measure(columns, rows), width, gap);
}

/** Every cell's length, measured once. */
function measure(columns: readonly TextColumn[], rows: readonly string[][]): number[][] {
  return rows.map((row) => columns.map((_, i) => visibleLength(row[i] ?? '')));
}

function fitMeasured(columns: readonly TextColumn[], lengths: readonly number[][], width: number, gap: number): number[] {
  const natural = columns.map((c) => visibleLength(c.header));
  for (const row of lengths) {
    for (let i = 0; i < natural.length; i++) if (row[i]! > natural[i]!) natural[i] = row[i]!;
  }
  const widths = natural.slice();
  const flexible = columns.map((c, i) => ((c.flex ?? 0) > 0 ? i : -1)).filter((i) => i >= 0);
  const fixed = natural.reduce((sum, w, i) => sum + ((columns[i]!.flex ?? 0) > 0 ? 0 : w), 0);
  let room = width - fixed - gap * (columns.length - 1);
  // Share the room by weight; columns that need less give the rest back to the others.
  let open = flexible.slice();
  while (open.length > 0) {
    const weight = open.reduce((s, i) => s + columns[i]!.flex!, 0);
    const satisfied = open.filter((i) => natural[i]! <= Math.floor((room * columns[i]!.flex!) / weight));
    if (satisfied.length === 0) {
      for (const i of open) widths[i] = Math.max(columns[i]!.min ?? 6, Math.floor((room * columns[i]!.flex!) / weight));
      break;
    }
    for (const i of satisfied) {
      widths[i] = natural[i]!;
      room -= natural[i]!;
    }
    open = open.filter((i) => !satisfied.includes(i));
  }
  return widths;
}

/** The table as lines (header first), each at most `opts.width` cells when it can be. */
export function renderTextTable(columns: readonly TextColumn[], rows: readonly string[][], opts: TextTableOptions): string[] {
  const gap = opts.gap ?? 2;
  const lengths = measure(columns, rows);
  const widths = fitMeasured(columns, lengths, opts.width, gap);
  const sep = ' '.repeat(gap);
  const cell = (raw: string, length: number, i: number): string => {
    const w = widths[i]!;
    const text = length > w ? cut(raw, w) : raw;
    const fill = ' '.repeat(Math.max(0, w - Math.min(length, w)));
    return columns[i]!.align === 'right' ? fill + text : text + fill;
  };
  const header = columns.map((c, i) => cell(c.header, visibleLength(c.header), i)).join(sep).trimEnd();
  const out = [opts.headerStyle ? opts.headerStyle(header) : header];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const parts: string[] = [];
    for (let i = 0; i < columns.length; i++) {
      const raw = row[i] ?? '';
      const padded = cell(raw, lengths[r]![i]!, i);
      parts.push(opts.style ? opts.style(i, r, padded, raw) : padded);
    }
    out.push(parts.join(sep).trimEnd());
  }
  return out;
}
