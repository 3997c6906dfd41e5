// What activities need from the machine they run on. Passed in by the worker, never global,
// so tests can point activities at a temporary home.
export interface ActivityContext {
  /** ARLO_HOME: holds the history repository. */
  home: string;
  /** Where dataset files (e.g. digits.csv) are read from. */
  dataDir: string;
}
