import type { Injection } from './config.js';

/**
 * Where a call's credentials go: HTTP headers on that one tools/call request, or the environment of
 * a process started for that one call. Two credentials aimed at the same header or variable would
 * leave one of them unsaid; that fails the call rather than guess.
 */
export interface Delivery {
  headers: Record<string, string>;
  env: Record<string, string>;
}

export function deliver(
  credentials: readonly { name: string; inject: Injection; value: string }[],
): Delivery {
  const delivery: Delivery = { headers: {}, env: {} };
  const targets = new Map<string, string>();
  for (const { name, inject, value } of credentials) {
    const target = 'header' in inject ? `header ${inject.header.toLowerCase()}` : `variable ${inject.env}`;
    const other = targets.get(target);
    if (other !== undefined)
      throw new Error(
        `credentials "${other}" and "${name}" both go in the ${target}; a rule may name only one of them`,
      );
    targets.set(target, name);
    if ('header' in inject) delivery.headers[inject.header.toLowerCase()] = `${inject.prefix}${value}`;
    else delivery.env[inject.env] = `${inject.prefix}${value}`;
  }
  return delivery;
}
