/**
 * An error the user can fix. The CLI prints `message` (and `hint`, when given) without a stack
 * trace; anything else is a bug and is printed with its stack.
 */
export class UserError extends Error {
  readonly hint?: string;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.hint = options.hint;
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError || (err instanceof Error && err.name === 'UserError');
}
