import { z } from 'zod';
import { EDIT_OPS, type Edit, type EditOp } from '../../arch/edit.ts';
import { ACTIVATIONS } from '../../arch/spec.ts';

// The answer an LLM must give, as a FLAT schema: every field required, optional values nullable,
// enums instead of unions. Providers' strict structured-output modes (OpenAI `strict: true`)
// reject `oneOf`/`anyOf`-of-objects, optional fields and most numeric/length keywords, so the wire
// schema carries only types, enums and descriptions; limits are checked after the answer arrives
// (see validate.ts), where a violation becomes a precise repair message instead of a 400.

export const MERGES = ['add', 'concat'] as const;

export const flatEditSchema = z
  .object({
    op: z.enum(EDIT_OPS).describe('the kind of edit'),
    from: z.string().nullable().describe('addBypass: the earlier node the bypass starts at'),
    to: z.string().nullable().describe('addBypass: the node the bypass joins'),
    merge: z.enum(MERGES).nullable().describe('addBypass: how the paths join'),
    node: z.string().nullable().describe('removeBypass, removeLayer, setUnits, setActivation: the node to change'),
    after: z.string().nullable().describe('insertLayer, addNorm, setDropout: the node after which to insert'),
    units: z.number().nullable().describe('insertLayer, setUnits: whole number of units'),
    activation: z.enum(ACTIVATIONS).nullable().describe('insertLayer, setActivation'),
    rate: z.number().nullable().describe('setDropout: rate in [0, 1); 0 removes the dropout'),
    value: z.number().nullable().describe('setLearningRate, setBatchSize, setEpochs: the new value'),
  })
  .strict();
export type FlatEdit = z.infer<typeof flatEditSchema>;

export const answerSchema = z
  .object({
    hypothesis: z.string().describe('one sentence: what you change and why it should move the metric'),
    rationale: z.string().describe('the evidence from the history and lessons that supports it'),
    expectedEffect: z.string().describe('the metric change you expect, e.g. "val_accuracy +0.05 over the champion"'),
    edits: z.array(flatEditSchema).describe('the edits, applied in order to the champion'),
  })
  .strict();
export type LlmAnswer = z.infer<typeof answerSchema>;

/** The wire JSON Schema: a plain object (LangChain re-converts zod and "standard" schemas, dropping `additionalProperties`). */
export function answerJsonSchema(): Record<string, unknown> {
  const schema = JSON.parse(JSON.stringify(z.toJSONSchema(answerSchema))) as Record<string, unknown>;
  delete schema.$schema;
  schema.title = 'proposal';
  schema.description = 'One experiment: a hypothesis and the typed edits that test it.';
  return schema;
}

/** Which flat fields each edit kind reads. */
export const EDIT_FIELDS: Record<EditOp, ReadonlyArray<keyof FlatEdit>> = {
  addBypass: ['from', 'to', 'merge'],
  removeBypass: ['node'],
  insertLayer: ['after', 'units', 'activation'],
  removeLayer: ['node'],
  setUnits: ['node', 'units'],
  setActivation: ['node', 'activation'],
  addNorm: ['after'],
  setDropout: ['after', 'rate'],
  setLearningRate: ['value'],
  setBatchSize: ['value'],
  setEpochs: ['value'],
};

/** A flat edit as a typed Edit, or the fields it is missing. Fields an op does not read are ignored. */
export function toEdit(flat: FlatEdit): { edit: Edit } | { missing: string[] } {
  const fields = EDIT_FIELDS[flat.op];
  const missing = fields.filter((f) => flat[f] === null || flat[f] === undefined).map(String);
  if (missing.length > 0) return { missing };
  const picked: Record<string, unknown> = { op: flat.op };
  for (const f of fields) picked[f] = flat[f];
  return { edit: picked as unknown as Edit };
}
