import { Protocol, type RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { ErrorCode, type Notification, type Request, type Result } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/*
 * What Gatehouse does not change, it passes on as it came. The SDK's zod schemas strip every key they
 * do not know (a server's `annotations.category`, a prompt argument's `enum`, fields of a newer spec
 * revision), and the SDK hands over its parsed copy: so Gatehouse validates with the SDK's schemas and
 * forwards the original.
 */

/**
 * A schema that validates with `schema` and yields the value it was given, every field kept. Its type
 * is the schema's input: nothing was defaulted (a tool result without `content` stays without).
 */
export function passThrough<S extends z.ZodType>(schema: S): z.ZodType<z.input<S>> {
  return z.unknown().check((ctx) => {
    const parsed = schema.safeParse(ctx.value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.issues.push({ ...issue, input: ctx.value } as never);
    }
  }) as z.ZodType<z.input<S>>;
}

/** The first few problems of a failed validation, each with its JSON path. */
export function describeIssues(error: z.core.$ZodError, limit = 3): string {
  const described = error.issues
    .slice(0, limit)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
  const more = error.issues.length - limit;
  return described.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/** A request schema of the SDK: an object with a `method` literal. */
export type RequestSchema = z.ZodObject<{ method: z.ZodLiteral<string> }>;

/** Any SDK Server or Client. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyProtocol = Protocol<any, any, any>;

export type RawHandler<S extends RequestSchema> = (
  /** The request as `schema` reads it: what the handler decides on. */
  request: z.output<S>,
  /** The request as it was sent, every field kept: what the handler forwards. */
  raw: Request,
  extra: RequestHandlerExtra<Request, Notification>,
) => Promise<Result>;

/**
 * Handles `schema`'s method on a Server or Client with the request validated by `schema` and the
 * request as sent at hand, and sends the handler's result as it is. The SDK's own `setRequestHandler`
 * hands over only its parsed copy, and the Server's (tools/call) and Client's (sampling, elicitation)
 * overrides re-parse the handler's result with the SDK's result schema and send that copy: Protocol's
 * base method with a schema that only names the method does neither. An invalid request is refused with
 * InvalidParams naming what is wrong and where, as the SDK refuses an invalid tools/call.
 */
export function setRawRequestHandler<S extends RequestSchema>(
  protocol: AnyProtocol,
  schema: S,
  handler: RawHandler<S>,
): void {
  const method = schema.shape.method.value;
  const named = z.looseObject({ method: z.literal(method) });
  const register = Protocol.prototype.setRequestHandler as (
    this: AnyProtocol,
    schema: typeof named,
    handler: (request: Request, extra: RequestHandlerExtra<Request, Notification>) => Promise<Result>,
  ) => void;
  register.call(protocol, named, async (raw, extra) => {
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      // The Protocol answers with a thrown error's code and message (an McpError's carries a prefix).
      const message = `Invalid ${method} request: ${describeIssues(parsed.error)}`;
      throw Object.assign(new Error(message), { code: ErrorCode.InvalidParams });
    }
    return handler(parsed.data, raw, extra);
  });
}
