import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';

/**
 * The published schemas pinned in fixtures/schemas (see its README): reading one, the formats they
 * name, and their errors as `$.json.path: message` lines. The channels compile their own with Ajv.
 */

const SCHEMAS = new URL('../../../fixtures/schemas/', import.meta.url);

export function readPinnedSchema(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(file, SCHEMAS), 'utf8')) as Record<string, unknown>;
}

/** Formats the schemas name; `uri` as the WHATWG URL parser reads it, like the clients that follow these links. */
export const schemaFormats = {
  uri: (value: string) => URL.canParse(value),
  'uri-reference': (value: string) => URL.canParse(value, 'https://base.invalid/'),
};

export function describeSchemaErrors(errors: ErrorObject[] | null | undefined): string[] {
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    const where = `$${error.instancePath.replaceAll('/', '.')}`;
    const extra = 'additionalProperty' in error.params ? ` (${String(error.params.additionalProperty)})` : '';
    seen.add(`${where}: ${error.message ?? 'invalid'}${extra}`);
  }
  return [...seen];
}
