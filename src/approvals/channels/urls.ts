import { z } from 'zod';
import { isLoopbackHost } from '../../shared/loopback.js';

/**
 * An endpoint a channel sends credentials to: https, or http to this machine only (a test stand-in, a
 * local proxy), so that a token never crosses a network in clear.
 */
export const SecureUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).refine((value) => {
  const url = new URL(value);
  return url.protocol === 'https:' || isLoopbackHost(url.hostname);
}, 'must be an https URL (plain http only to localhost)');

/**
 * Whether `text` is an https URL: what Teams and Slack reach an app at, with no loopback exception
 * (their clouds cannot reach this machine's localhost).
 */
export const isHttpsUrl = (text: string): boolean =>
  URL.canParse(text) && new URL(text).protocol === 'https:';

/** A path on Gatehouse's listener that a channel serves (its inbound endpoint). */
export const ListenerPath = (example: string) =>
  z.string().regex(/^\/[A-Za-z0-9/_.-]*$/, `a path such as ${example}`);
