import type { Edit } from './edit.ts';

// Error classes live apart from the code that throws them so every module (and callers that
// only want `instanceof` checks) can import them without pulling in the rest of arch/.

/** A spec (or architecture) that breaks one or more rules; `errors` holds one message per rule. */
export class SpecError extends Error {
  readonly errors: string[];

  constructor(errors: string[], prefix = 'invalid spec') {
    super(`${prefix}:\n  - ${errors.join('\n  - ')}`);
    this.name = 'SpecError';
    this.errors = errors;
  }
}

/** An edit that cannot be applied; the message names the node (or recipe field) and the problem. */
export class EditError extends Error {
  readonly edit: Edit;
  /** Position of the failing edit when it came from `applyEdits`; undefined for a single edit. */
  readonly editIndex: number | undefined;

  constructor(message: string, edit: Edit, editIndex?: number) {
    super(message);
    this.name = 'EditError';
    this.edit = edit;
    this.editIndex = editIndex;
  }
}
