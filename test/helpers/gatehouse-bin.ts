import { main } from '../../src/cli/index.js';

// Mirrors bin/gatehouse.js, but runs the CLI from source (under tsx) so tests need no build.
process.exitCode = await main(process.argv);
