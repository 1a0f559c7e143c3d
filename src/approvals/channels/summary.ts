import { argumentsLine as oneLine } from '../argumentsLine.js';
import { outcomeOf, type OutcomeKind } from '../outcome.js';
import type { JsonValue, Redactor } from '../../redact/index.js';
import type { ApprovalRequest, ApprovalState } from '../request.js';
import { asOf } from '../states.js';
import { cut, shown, visible } from './text.js';

/**
 * A request rendered once into what every channel shows, whatever its format: the page link, the tool,
 * the rule and reason, who asked, until when, what has been decided and how it ended, and the arguments
 * with secrets redacted and long values cut. Every string from outside Gatehouse's own config (arguments,
 * the model, a server's names and descriptions, results, reasons people typed) is untrusted: here it has
 * its suspicious characters made visible (text.ts) and is cut, and channels must still render it
 * literally (Teams: TextRun, never markdown). Pure, apart from reading the clock when `now` is absent.
 */

export interface SummaryLimits {
  /** One string inside the arguments. */
  valueChars: number;
  /** The arguments' pretty-printed `display` as a whole. */
  argumentsChars: number;
  /** A reason, a tool description, an error text. */
  textChars: number;
  /** `argumentsLine`. */
  lineChars: number;
}

export const DEFAULT_SUMMARY_LIMITS: Readonly<SummaryLimits> = {
  valueChars: 500,
  argumentsChars: 4000,
  textChars: 1000,
  lineChars: 160,
};

export interface SummaryOptions {
  /** Where approvers reach Gatehouse: approvals.publicUrl or the listener's URL. */
  baseUrl: string;
  /** audit.redact's rules; a keyed redactor adds the arguments' keyed digest. */
  redactor: Pick<Redactor, 'redactArguments' | 'redactText'>;
  /** The tool's description; default: the one the request is bound to. */
  toolDescription?: string;
  now?: Date;
  limits?: Partial<SummaryLimits>;
}

export type { OutcomeKind } from '../outcome.js';

export interface SummaryArguments {
  /** Redacted, every key and string made visible and each long string cut: safe to show as JSON. */
  value: Record<string, JsonValue>;
  /** `value` as indented JSON, cut as a whole at `argumentsChars`. */
  display: string;
  /** JSON paths whose values were redacted (`$.password`). */
  redacted: string[];
  /** Something was cut: the request page has it all. */
  cut: boolean;
  /** `hmac-sha256:` keyed digest of the full arguments, as the audit trail records it (keyed redactor only). */
  digest?: string;
}

export interface SummaryDecision {
  /** The approver's id. */
  by: string;
  verdict: 'approve' | 'reject';
  at: string;
  /** The channel that carried it (`web`, `api`, a channel instance's name). */
  channel?: string;
  reason?: string;
}

export interface ApprovalSummary {
  id: string;
  /** The request's page, where it can be seen whole and decided after sign-in. */
  url: string;
  server: string;
  tool: string;
  /** The name the model called it by. */
  exposedName: string;
  toolDescription?: string;
  rules: string[];
  /** The policy's reason for asking. */
  reason: string;
  requester: { id: string; groups: string[] };
  createdAt: string;
  expiresAt: string;
  /** The invocation digest the approval is bound to (server, tool, definition, arguments, requester, policy). */
  digest: string;
  /** As of the summary's `now` (a pending request past its expiry is `expired`). */
  state: ApprovalState;
  /** Who may approve: `user:<id>`, `<id>` or `group:<name>` entries. */
  approvers: string[];
  quorum: number;
  /** Every decision so far, in order (approvals and the rejection). */
  decisions: SummaryDecision[];
  /** Approvals so far, in order. */
  approvals: { id: string; at: string; channel?: string }[];
  rejection?: { by: string; at: string; reason?: string };
  /** How it ended; absent while it is open (pending, approved, executing). */
  outcome?: { kind: OutcomeKind; text: string };
  arguments: SummaryArguments;
  /** One line for list views: `path="/tmp/x", mode=420, items=[3 items]`. */
  argumentsLine: string;
  /** Some untrusted text had characters made visible: worth a warning beside it. */
  flagged: boolean;
}

/** The page of one request. */
export function requestUrl(baseUrl: string, id: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/approvals/${encodeURIComponent(id)}`;
}

export function summarize(request: ApprovalRequest, options: SummaryOptions): ApprovalSummary {
  const limits = { ...DEFAULT_SUMMARY_LIMITS, ...options.limits };
  const current = asOf(request, options.now ?? new Date());
  let flagged = false;
  const text = (value: string, max = limits.textChars, oneLine = false) => {
    const made = shown(options.redactor.redactText(value), max, oneLine);
    flagged ||= made.flagged;
    return made.text;
  };
  const name = (value: string) => text(value, 200, true);

  const redacted = options.redactor.redactArguments(request.arguments);
  let argumentsCut = false;
  const walk = (value: JsonValue): JsonValue => {
    if (typeof value === 'string') {
      const made = shown(value, limits.valueChars);
      flagged ||= made.flagged;
      argumentsCut ||= made.cut;
      return made.text;
    }
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object') {
      // Built entry by entry: a key like __proto__ stays data.
      const out: Record<string, JsonValue> = {};
      for (const [key, inner] of Object.entries(value)) {
        Object.defineProperty(out, name(key), {
          value: walk(inner),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return value;
  };
  const value = walk(redacted.value) as Record<string, JsonValue>;
  const display = cut(JSON.stringify(value, null, 2), limits.argumentsChars);
  const digest = (redacted as { digest?: unknown }).digest;

  const description = options.toolDescription ?? request.toolDefinition?.description;
  const rejection = current.decisions.find((d) => d.decision === 'reject');
  const ended = outcomeOf(current, (value) => text(value));
  const outcome = ended && {
    kind: ended.kind,
    text: ended.detail ? `${ended.text}: ${ended.detail}` : ended.text,
  };
  return {
    id: request.id,
    url: requestUrl(options.baseUrl, request.id),
    server: name(request.server),
    tool: name(request.tool),
    exposedName: name(request.exposedName),
    ...(description !== undefined ? { toolDescription: text(description) } : {}),
    rules: request.rules.map(name),
    reason: text(request.reason),
    requester: { id: name(request.caller.id), groups: request.caller.groups.map(name) },
    createdAt: request.createdAt,
    expiresAt: request.expiresAt,
    digest: request.digest,
    state: current.state,
    approvers: request.approvers.map(name),
    quorum: request.quorum,
    decisions: current.decisions.map((d) => ({
      by: name(d.approver.id),
      verdict: d.decision,
      at: d.at,
      ...(d.channel ? { channel: d.channel } : {}),
      ...(d.reason !== undefined ? { reason: text(d.reason) } : {}),
    })),
    approvals: current.decisions
      .filter((d) => d.decision === 'approve')
      .map((d) => ({ id: name(d.approver.id), at: d.at, ...(d.channel ? { channel: d.channel } : {}) })),
    ...(rejection
      ? {
          rejection: {
            by: name(rejection.approver.id),
            at: rejection.at,
            ...(rejection.reason !== undefined ? { reason: text(rejection.reason) } : {}),
          },
        }
      : {}),
    ...(outcome ? { outcome } : {}),
    arguments: {
      value,
      display: display.text,
      redacted: redacted.redacted,
      cut: argumentsCut || display.cut,
      ...(typeof digest === 'string' ? { digest } : {}),
    },
    argumentsLine: argumentsLine(redacted.value, limits),
    flagged,
  };
}

/**
 * The arguments in one line, so two requests for one tool can be told apart in a list (the page's and
 * the CLI's line, approvals/argumentsLine.ts), made visible for a channel and cut to `lineChars`.
 * `value` must be redacted already.
 */
export function argumentsLine(
  value: Record<string, JsonValue>,
  limits: Pick<SummaryLimits, 'lineChars'> = DEFAULT_SUMMARY_LIMITS,
): string {
  const line = visible(oneLine(value), true).text;
  const chars = Array.from(line);
  return chars.length > limits.lineChars ? `${chars.slice(0, limits.lineChars - 1).join('')}…` : line;
}
