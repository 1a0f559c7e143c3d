import { Ajv, type ValidateFunction } from 'ajv';
import draft04 from 'ajv-draft-04';
import draft06MetaSchema from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };
import {
  describeSchemaErrors as describe,
  readPinnedSchema as readSchema,
  schemaFormats as formats,
} from '../schemas.js';

/**
 * Microsoft's published schemas, pinned in fixtures/schemas (see its README), compiled with Ajv: the
 * Teams app manifest schema (draft-04, so Ajv's draft-04 build, as Microsoft's Teams CLI does) and the
 * Adaptive Card 1.5 schema (draft-06). Compiled once, on first use.
 */

export const MANIFEST_SCHEMA_FILE = 'teams-manifest-v1.25.json';
export const ADAPTIVE_CARD_SCHEMA_FILE = 'adaptive-card-1.5.json';

let manifest: ValidateFunction | undefined;
let adaptiveCard: ValidateFunction | undefined;

/** Problems of a Teams app manifest against the pinned manifest schema: `$.name.short: must NOT have more than 30 characters`. */
export function manifestProblems(value: unknown): string[] {
  manifest ??= new draft04.default({ allErrors: true, strict: false, formats }).compile(
    readSchema(MANIFEST_SCHEMA_FILE),
  );
  return manifest(value) ? [] : describe(manifest.errors);
}

/**
 * Problems of an Adaptive Card against the 1.5 schema, after taking off what only Teams reads
 * (`msteams`, which the schema forbids like any unknown property).
 */
export function adaptiveCardProblems(card: unknown): string[] {
  if (!adaptiveCard) {
    // The published file names its id with draft-04's `id`, which Ajv 8 refuses in a draft-06 schema.
    const { id, ...schema } = readSchema(ADAPTIVE_CARD_SCHEMA_FILE);
    const ajv = new Ajv({ allErrors: true, strict: false, formats });
    ajv.addMetaSchema(draft06MetaSchema);
    adaptiveCard = ajv.compile({ ...schema, $id: String(id) });
  }
  return adaptiveCard(withoutTeamsOnly(card)) ? [] : describe(adaptiveCard.errors);
}

/** A copy without `msteams` anywhere (cards nest in Action.ShowCard). */
export function withoutTeamsOnly(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTeamsOnly);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'msteams')
      .map(([key, inner]) => [key, withoutTeamsOnly(inner)]),
  );
}
