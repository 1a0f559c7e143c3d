import { LogLevel, type Logger as SlackLogger } from '@slack/web-api';
import type { Logger } from '../../../log.js';

/**
 * Slack's clients log through this instead of their console logger (which writes to stdout, where a
 * stdio Gatehouse speaks MCP). Their debug lines are dropped: they carry whole payloads, and the URL
 * Socket Mode connects to holds a ticket. What is left (info, warnings, errors) goes to Gatehouse's
 * log, which redacts it like every other line.
 */
export function slackLogger(log: Logger): SlackLogger {
  const line = (msg: unknown[]) => msg.map((m) => (m instanceof Error ? m.message : String(m))).join(' ');
  return {
    debug: () => undefined,
    info: (...msg: unknown[]) => log.info(line(msg)),
    warn: (...msg: unknown[]) => log.warn(line(msg)),
    error: (...msg: unknown[]) => log.error(line(msg)),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
}
