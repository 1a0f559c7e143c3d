/**
 * `npm start`'s first step: your own mcp.config.json, copied once from mcp.config.example.json. It will
 * hold approver password hashes (`gatehouse approvers add`), which is why git ignores it and the
 * example stays as shipped. An existing mcp.config.json is never touched.
 */
import { constants, copyFileSync } from 'node:fs';

try {
  copyFileSync('mcp.config.example.json', 'mcp.config.json', constants.COPYFILE_EXCL);
  process.stderr.write(
    'created mcp.config.json from mcp.config.example.json: your config (git ignores it)\n',
  );
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
}
