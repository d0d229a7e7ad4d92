// Child process of ordinaryClient: runs ordinaryLoop until its stdin ends, then prints the report.
import { ordinaryLoop } from './clients.js';

const options = JSON.parse(process.argv[2]!) as { port: number; host: string; ca: string; path: string };
const loop = ordinaryLoop({ ...options, onFirstAnswer: () => process.stdout.write('serving\n') });
process.stdin.resume();
process.stdin.once('end', () => {
  void loop.stop().then((report) => { process.stdout.write(JSON.stringify(report)); process.exit(0); });
});
