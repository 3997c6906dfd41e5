// The environment an external job sees: an allow-list, never the worker's whole environment.

/** Always passed through from the worker when set. */
export const BASE_ENV_NAMES = ['PATH', 'HOME', 'LANG'] as const;

/**
 * Names that look like credentials. A template may not ask for them: an external job is code
 * arlo does not control, and a proposal (possibly from an LLM) decides what it trains.
 */
const SECRET_PATTERNS: readonly RegExp[] = [
  /API_?KEY/i,
  /TOKEN/i,
  /SECRET/i,
  /PASSW(OR)?D/i,
  /CREDENTIAL/i,
  /PRIVATE_?KEY/i,
  /^AWS_ACCESS_KEY_ID$/i,
  /^AWS_SESSION/i,
];

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function looksSecret(name: string): boolean {
  return SECRET_PATTERNS.some((re) => re.test(name));
}

/** Problems with a template's declared variable names; empty means fine. */
export function envNameProblems(names: readonly string[]): string[] {
  const problems: string[] = [];
  for (const name of names) {
    if (typeof name !== 'string' || !NAME.test(name)) {
      problems.push(`external.env: ${JSON.stringify(name)} is not a variable name; use letters, digits and _`);
    } else if (looksSecret(name)) {
      problems.push(
        `external.env: ${name} looks like a secret (API key, token, password); external jobs never get secrets, ` +
          `remove it from the template (give the job a file or a service it can reach instead)`,
      );
    }
  }
  return problems;
}

/**
 * PATH, HOME and LANG plus the declared names, each taken from `source` when set there, then the
 * `extra` values (paths arlo sets, e.g. ARLO_JOB_SPEC). Throws if a declared name looks secret.
 */
export function jobEnv(
  declared: readonly string[],
  source: NodeJS.ProcessEnv,
  extra: Record<string, string> = {},
): Record<string, string> {
  const problems = envNameProblems(declared);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const env: Record<string, string> = {};
  for (const name of [...BASE_ENV_NAMES, ...declared]) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}
