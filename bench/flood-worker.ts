// One process of bench/flood.ts's attack: opens idle connections from one
// address (see test/helpers/flood.ts), sustains them, and reports its tally
// to the parent every TALLY_MS. A process of its own keeps the bench's
// measuring loop free of the flood's socket events and gives the flood its
// own open-file limit. Arguments: host port localAddress count ratePerSecond.
import { flood } from '../test/helpers/flood.ts';

const TALLY_MS = 500;
const [host = '127.0.0.1', port = '0', localAddress = '127.0.0.2', count = '10000', rate = '500'] = process.argv.slice(2);
const attack = flood({ host, port: Number(port), localAddress, count: Number(count), ratePerSecond: Number(rate), sustain: true });
const report = setInterval(() => { process.send?.({ tally: attack.tally() }); }, TALLY_MS);
void attack.started.then(() => { process.send?.({ started: true, tally: attack.tally() }); });
process.on('message', () => {
  clearInterval(report);
  attack.stop();
  process.send?.({ tally: attack.tally() }, () => { process.exit(0); });
});
process.on('disconnect', () => { process.exit(0); });
