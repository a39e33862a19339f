/**
 * WAL checkpoints off the event loop. By default SQLite checkpoints inside whichever commit pushes the WAL past 1000
 * pages: that commit then copies the WAL into the database and fsyncs it, 10–16 ms during which the gateway's event
 * loop answers nothing (the p99 tail under load). The ledger turns that off on its own connection and a worker
 * thread with a connection of its own runs PASSIVE checkpoints instead; they never block the writer, which goes on
 * appending to the WAL meanwhile. If the worker dies, the ledger's connection goes back to automatic checkpoints.
 */
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
let timer;
const tick = () => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (e) { parentPort.postMessage({ error: String(e && e.message || e) }); }
  timer = setTimeout(tick, workerData.intervalMs);
};
timer = setTimeout(tick, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearTimeout(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  try { db.close(); } catch {}
  parentPort.close();
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private stopped = false;
  private readonly exited: Promise<void>;

  /** `driver` is better-sqlite3's resolved entry point (the worker loads the same copy the ledger uses). */
  constructor(path: string, driver: string, intervalMs: number, onFailure: (e: Error) => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver, intervalMs }, resourceLimits: { maxOldGenerationSizeMb: 16 } });
    this.worker.unref();
    this.worker.on('message', (m: { error?: string }) => {
      if (m?.error) process.emitWarning(`costgate: ledger checkpoint failed (will retry): ${m.error}`);
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('error', (e) => {
        if (!this.stopped) onFailure(e);
      });
      this.worker.once('exit', (code) => {
        if (!this.stopped) onFailure(new Error(`ledger checkpoint worker exited (${code})`));
        resolve();
      });
    });
  }

  /** Final checkpoint and close; resolves when the worker's connection is gone. */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      // Unref'd so a forgotten ledger never holds the process open; while stopping, the exit must be waited for.
      this.worker.ref();
      this.worker.postMessage('stop');
    }
    await this.exited;
  }
}
