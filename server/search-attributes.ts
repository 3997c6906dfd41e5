import type { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
// Not re-exported from the package index; maps 'KEYWORD' etc. to the proto enum value.
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';

/**
 * Custom search attributes arlo sets on campaign workflows (names and Temporal types). The typed
 * keys workflows use live in workflows/search-attributes.ts.
 */
export const ARLO_SEARCH_ATTRIBUTES = {
  CampaignId: 'Keyword',
  BestMetric: 'Double',
  ExperimentsDone: 'Int',
} as const;

export type ArloSearchAttributeName = keyof typeof ARLO_SEARCH_ATTRIBUTES;
type CliType = (typeof ARLO_SEARCH_ATTRIBUTES)[ArloSearchAttributeName];

const SDK_TYPE: Record<CliType, SearchAttributeType> = {
  Keyword: 'KEYWORD',
  Double: 'DOUBLE',
  Int: 'INT',
};

/** `--search-attribute` values for `temporal server start-dev`. */
export function searchAttributeCliArgs(): string[] {
  return Object.entries(ARLO_SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}

export interface EnsureSearchAttributesResult {
  /** Registered by this call. */
  added: string[];
  /** Already present with the right type. */
  present: string[];
  /** Problems that were logged as warnings (server refused, wrong type, ...). */
  warnings: string[];
}

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

const ALREADY_EXISTS = 6;

/**
 * Registers arlo's custom search attributes in `namespace` if they are missing. Reads the existing
 * list first; tolerates "already exists" (another process got there first); logs a warning instead
 * of throwing when the server refuses (e.g. Temporal Cloud, where they are managed via tcld/UI).
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  options: { warn?: (message: string) => void } = {},
): Promise<EnsureSearchAttributesResult> {
  const warn = options.warn ?? ((m: string) => process.stderr.write(`arlo: warning: ${m}\n`));
  const result: EnsureSearchAttributesResult = { added: [], present: [], warnings: [] };
  const report = (m: string) => {
    result.warnings.push(m);
    warn(m);
  };

  let existing: Record<string, number>;
  try {
    const res = await connection.operatorService.listSearchAttributes({ namespace });
    existing = { ...(res.customAttributes ?? {}), ...(res.systemAttributes ?? {}) } as Record<string, number>;
  } catch (err) {
    report(
      `could not list search attributes in namespace "${namespace}" (${(err as Error).message}); ` +
        `campaigns may fail to set ${Object.keys(ARLO_SEARCH_ATTRIBUTES).join(', ')} until they are registered.`,
    );
    return result;
  }

  const missing: Record<string, number> = {};
  for (const [name, cliType] of Object.entries(ARLO_SEARCH_ATTRIBUTES) as [ArloSearchAttributeName, CliType][]) {
    const wanted = encodeSearchAttributeIndexedValueType(SDK_TYPE[cliType])!;
    if (!(name in existing)) missing[name] = wanted;
    else if (existing[name] !== wanted) {
      report(`search attribute ${name} exists in namespace "${namespace}" with a different type (expected ${cliType}).`);
    } else result.present.push(name);
  }
  if (Object.keys(missing).length === 0) return result;

  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    result.added.push(...Object.keys(missing));
  } catch (err) {
    if (grpcCode(err) === ALREADY_EXISTS || /already exist/i.test((err as Error).message)) {
      result.present.push(...Object.keys(missing));
    } else {
      report(
        `could not register search attributes ${Object.keys(missing).join(', ')} in namespace "${namespace}" ` +
          `(${(err as Error).message}). Register them on the server (types: ` +
          Object.keys(missing).map((n) => `${n}=${ARLO_SEARCH_ATTRIBUTES[n as ArloSearchAttributeName]}`).join(', ') +
          ').',
      );
    }
  }
  return result;
}
