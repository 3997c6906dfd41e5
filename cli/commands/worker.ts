import { createArloWorker } from '../../worker.ts';
import { arloHome, dataDir } from '../../server/arlo-home.ts';
import { openClient } from '../client.ts';
import { remoteConnectionOptions } from '../../server/embedded-server.ts';

/** `arlo worker`: serves campaigns until interrupted. */
export async function workerCommand(opts: { slots: number }): Promise<void> {
  const c = await openClient({ start: true });
  const { address, namespace } = c;
  await c.close();
  const remote = process.env.TEMPORAL_ADDRESS ? remoteConnectionOptions(process.env) : {};
  const worker = await createArloWorker({
    address,
    namespace,
    tls: remote.tls as never,
    apiKey: typeof remote.apiKey === 'string' ? remote.apiKey : undefined,
    slots: opts.slots,
    context: { home: arloHome(), dataDir: dataDir() },
  });
  const stop = () => {
    process.stderr.write('arlo worker: shutting down (running trainings are retried elsewhere)\n');
    worker.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`arlo worker: polling ${address} (namespace ${namespace}) with ${opts.slots} training slot(s); Ctrl-C stops`);
  await worker.run();
}
