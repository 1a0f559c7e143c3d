/**
 * A separate process using a store file, for tests of what only processes can show.
 *   hold <file>        open, write one request, print "READY <pid>", close when stdin ends
 *   try <file>         open and close; exit 3 printing `{code, message}` on stderr when refused
 *   write-loop <file>  continue a fixed sequence of writes (create req-k, approve req-k, ...) and print
 *                      "ACK <n>" once write n is acknowledged, until killed or 5000 writes
 */
import { applyDecision } from '../../../src/approvals/states.js';
import { isGatehouseError } from '../../../src/errors.js';
import { openLowdbStore } from '../../../src/store/lowdb.js';
import { at, bob, sampleRequest } from '../helpers.js';

const [mode, file] = process.argv.slice(2);
if (!file) throw new Error('usage: store-process.ts hold|try|write-loop <file>');

try {
  const store = await openLowdbStore(file);
  if (mode === 'hold') {
    await store.create(sampleRequest(process.pid));
    process.stdout.write(`READY ${process.pid}\n`);
    process.stdin.resume();
    await new Promise((resolve) => process.stdin.once('end', resolve));
    await store.close();
  } else if (mode === 'try') {
    await store.close();
  } else if (mode === 'write-loop') {
    const requests = await store.list();
    // Progress so far: one write per create, one per approval.
    let done = requests.length + requests.filter((r) => r.state === 'approved').length;
    for (; done < 5000; done++) {
      const k = Math.floor(done / 2);
      if (done % 2 === 0) await store.create(sampleRequest(k));
      else
        await store.transition(`req-${k}`, 'pending', (r) =>
          applyDecision(r, { approver: bob, decision: 'approve' }, at(1000)),
        );
      process.stdout.write(`ACK ${done + 1}\n`);
    }
    await store.close();
  }
} catch (error) {
  if (!isGatehouseError(error)) throw error;
  process.stderr.write(`${JSON.stringify({ code: error.code, message: error.message })}\n`);
  process.exit(3);
}
