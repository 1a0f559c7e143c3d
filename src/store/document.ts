import { z } from 'zod';
import { QuarantinedRecordSchema, screenRecords } from '../approvals/quarantine.js';
import {
  CallbackTokenSchema,
  ChannelMemoSchema,
  ConversationRecordSchema,
  DeliveryRecordSchema,
} from '../approvals/channels/delivery.js';
import { ApprovalRequestSchema } from '../approvals/request.js';
import { isOpen } from '../approvals/states.js';
import { GatehouseError } from '../errors.js';

/**
 * The store file's document and its versions. Every change to what is stored bumps
 * STORE_SCHEMA_VERSION and adds a migration from the previous version; fixtures/store/ keeps a file of
 * every version ever released, which the tests must keep reading (they are never regenerated).
 */

export const STORE_SCHEMA_VERSION = 4;

export const StoreDocumentSchema = z
  .strictObject({
    schemaVersion: z.literal(STORE_SCHEMA_VERSION),
    approvals: z.array(ApprovalRequestSchema),
    /** Records found altered or corrupt, set aside as they were found: never executed. */
    quarantined: z.array(QuarantinedRecordSchema),
    /** The channels' outbox: one record per request, channel and stage. */
    deliveries: z.array(DeliveryRecordSchema),
    /** What each channel kept from its deliveries of a request (a Teams activity id). */
    channelMemos: z.array(ChannelMemoSchema),
    /** Webhook decision callback tokens, as SHA-256 hashes. */
    callbackTokens: z.array(CallbackTokenSchema),
    /** Teams conversation references, learned when the bot is installed. */
    conversations: z.array(ConversationRecordSchema),
  })
  .superRefine((document, ctx) => {
    const unique = <T>(
      key: 'deliveries' | 'callbackTokens',
      items: readonly T[],
      of: (item: T) => string,
    ) => {
      const seen = new Set<string>();
      items.forEach((item, index) => {
        const value = of(item);
        if (seen.has(value))
          ctx.addIssue({ code: 'custom', path: [key, index], message: `duplicate ${value}` });
        seen.add(value);
      });
    };
    unique('deliveries', document.deliveries, (d) => d.id);
    unique('callbackTokens', document.callbackTokens, (t) => t.hash);
    const ids = new Set<string>();
    const openDigests = new Set<string>();
    document.approvals.forEach((request, index) => {
      if (ids.has(request.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['approvals', index, 'id'],
          message: `duplicate id ${request.id}`,
        });
      }
      ids.add(request.id);
      if (!isOpen(request.state)) return;
      if (openDigests.has(request.digest)) {
        const message = `a second open request for digest ${request.digest}`;
        ctx.addIssue({ code: 'custom', path: ['approvals', index, 'digest'], message });
      }
      openDigests.add(request.digest);
    });
  });
export type StoreDocument = z.infer<typeof StoreDocumentSchema>;

export function emptyDocument(): StoreDocument {
  return {
    schemaVersion: STORE_SCHEMA_VERSION,
    approvals: [],
    quarantined: [],
    deliveries: [],
    channelMemos: [],
    callbackTokens: [],
    conversations: [],
  };
}

/** Turns a document of version n into one of version n + 1. Pure; validation happens after the last. */
export type Migration = (document: Record<string, unknown>) => Record<string, unknown>;

/** MIGRATIONS[n] upgrades version n. */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {
  // 2 adds the requester's optional transport and client; version 1 requests simply lack them.
  1: (document) => ({ ...document, schemaVersion: 2 }),
  // 3 keeps each request's tool definition (optional: older requests lack it), a blocked call's changed
  // definition, the earlier request a changed definition set apart, and the quarantined records.
  2: (document) => ({ ...document, schemaVersion: 3, quarantined: [] }),
  // 4 adds the channels' outbox: deliveries, their memos, webhook callback tokens, Teams conversations.
  3: (document) => ({
    ...document,
    schemaVersion: 4,
    deliveries: [],
    channelMemos: [],
    callbackTokens: [],
    conversations: [],
  }),
};

/**
 * Reads a parsed store file of any version: migrates an older one step by step, refuses a newer one
 * (this Gatehouse would drop what it does not know), refuses anything that is not a Gatehouse store,
 * quarantines each request record that cannot be trusted (see approvals/quarantine.ts) and validates
 * the rest. `file` only names the file in messages; `migrations` is for tests.
 */
export function upgradeDocument(
  raw: unknown,
  file: string,
  migrations: Readonly<Record<number, Migration>> = MIGRATIONS,
  now: Date = new Date(),
): StoreDocument {
  const target = STORE_SCHEMA_VERSION;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new GatehouseError('STORE_INVALID', `${file}: not a Gatehouse store (the JSON is not an object)`, {
      file,
    });
  }
  let document = raw as Record<string, unknown>;
  const found = document.schemaVersion;
  if (typeof found !== 'number' || !Number.isInteger(found) || found < 0) {
    throw new GatehouseError('STORE_INVALID', `${file}: not a Gatehouse store (no integer schemaVersion)`, {
      file,
    });
  }
  if (found > target) {
    throw new GatehouseError(
      'STORE_VERSION_UNSUPPORTED',
      `${file}: written by a newer Gatehouse (store schemaVersion ${found}; this one reads up to ${target}). ` +
        'Upgrade Gatehouse, or point it at another store file.',
      { file, schemaVersion: found, supported: target },
    );
  }
  for (let version = found; version < target; version++) {
    const migrate = migrations[version];
    if (!migrate) {
      throw new GatehouseError(
        'STORE_VERSION_UNSUPPORTED',
        `${file}: store schemaVersion ${found} is too old for this Gatehouse, which has no upgrade from ` +
          `version ${version} to ${target}.`,
        { file, schemaVersion: found, supported: target },
      );
    }
    document = migrate(document);
    if (document.schemaVersion !== version + 1) {
      throw new GatehouseError(
        'INTERNAL',
        `store migration from version ${version} did not produce ${version + 1}`,
      );
    }
  }
  return validate(quarantineUntrusted(document, now), file);
}

/** Moves the request records that cannot be trusted out of `approvals`, into `quarantined`. */
function quarantineUntrusted(document: Record<string, unknown>, now: Date): Record<string, unknown> {
  const { approvals, quarantined } = document;
  // Not a list of records, or no list of quarantined ones: the document itself is broken.
  if (!Array.isArray(approvals) || !Array.isArray(quarantined)) return document;
  const taken = new Set<string>();
  for (const entry of quarantined as unknown[]) {
    const id = (entry as { id?: unknown } | null)?.id;
    if (typeof id === 'string') taken.add(id);
  }
  const screened = screenRecords(approvals, now, taken);
  if (screened.quarantined.length === 0) return document;
  return { ...document, approvals: screened.valid, quarantined: [...quarantined, ...screened.quarantined] };
}

function validate(document: unknown, file: string): StoreDocument {
  const parsed = StoreDocumentSchema.safeParse(document);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  const more = parsed.error.issues.length > 5 ? `\n  ... and ${parsed.error.issues.length - 5} more` : '';
  throw new GatehouseError(
    'STORE_INVALID',
    `${file}: the store does not match schemaVersion ${STORE_SCHEMA_VERSION}:\n${problems.join('\n')}${more}`,
    { file, problems: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) },
  );
}
