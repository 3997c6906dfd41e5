// The ways an external training job can fail. Each becomes a failed experiment whose error class
// is one of these names (and whose log tail is kept in git as log.txt).

export const JOB_FAILURE_CLASSES = [
  /** The command ended with a non-zero exit code. */
  'JobExitNonZero',
  /** The command was killed by a signal it did not ask for (often: the out-of-memory killer). */
  'JobKilled',
  /** The command ran longer than the template's timeoutSeconds; its process tree was killed. */
  'JobTimeout',
  /** A reported metric is NaN or infinite. */
  'JobNonFiniteMetric',
  /** The command exited 0 without a result line or out/metrics.json, or without the template's metric. */
  'JobNoResult',
  /** The command could not be started at all (e.g. the interpreter does not exist). */
  'JobStartFailed',
  /** The template's `external` block is invalid (e.g. it asks for a secret variable). */
  'ExternalConfigError',
] as const;
export type JobFailureClass = (typeof JOB_FAILURE_CLASSES)[number];

/** A failed job: `failureClass` names the way it failed, `logTail` is the end of its output. */
export class ExternalJobError extends Error {
  constructor(
    readonly failureClass: JobFailureClass,
    message: string,
    readonly logTail: string | null = null,
  ) {
    super(message);
    this.name = failureClass;
  }
}

/** The job was stopped because its caller cancelled (not a failure of the job). */
export class JobCancelled extends Error {
  constructor(readonly logTail: string | null = null) {
    super('the external job was cancelled; its process tree was killed');
    this.name = 'JobCancelled';
  }
}
