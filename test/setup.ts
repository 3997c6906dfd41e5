import { DefaultLogger, Runtime } from '@temporalio/worker';

// Temporal's worker logs every state change at INFO; tests need warnings only.
Runtime.install({ logger: new DefaultLogger('WARN') });
