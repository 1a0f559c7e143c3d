import { readFile } from 'node:fs/promises';
import { MintError, type Minted } from './types.js';

/**
 * A secret Gatehouse holds (`${VAR}` in the config, or a file): nothing to mint or revoke, but the
 * server sees it only on the calls a rule names it for. The file is read at each call, so a rotated
 * secret is used from the next call on.
 */
export async function mintStatic(source: { value?: string; file?: string }): Promise<Minted> {
  if (source.value !== undefined) return { value: source.value };
  let text: string;
  try {
    text = await readFile(source.file!, 'utf8');
  } catch (error) {
    throw new MintError(
      `its file ${source.file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const value = text.trim();
  if (!value) throw new MintError(`its file ${source.file} is empty`);
  return { value };
}
