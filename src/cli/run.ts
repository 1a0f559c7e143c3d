/** Runs the CLI from source (tests, npm scripts): what bin/gatehouse.js does with dist/. */
import { main } from './index.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 1;
  },
);
