import type { DeliveryRecord } from '../../channels/delivery.js';
import { html, type SafeHtml } from '../html.js';
import { table, time } from './format.js';

/**
 * Where the request was announced and how each channel's deliveries stand: an approver who finds a
 * request here and not in Teams can see why. A failing channel never approves anything.
 */
export function deliveriesSection(deliveries: readonly DeliveryRecord[], now: number): SafeHtml | undefined {
  if (deliveries.length === 0) return undefined;
  return html`<h2>Channels</h2>
    ${table(
      'deliveries',
      ['Channel', 'Message', 'State', 'Where', 'Last error'],
      deliveries.map((d) => [
        html`<code>${d.channel}</code>`,
        stageLabel(d.stage),
        state(d, now),
        d.target ?? html`<span class="muted">not yet</span>`,
        d.lastError ?? '',
      ]),
      '',
    )}`;
}

function stageLabel(stage: string): string {
  if (stage === 'requested') return 'announced';
  const decision = /^decision-(\d+)$/.exec(stage);
  return decision ? `decision ${decision[1]}` : stage;
}

function state(d: DeliveryRecord, now: number): SafeHtml {
  const tries = `${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`;
  if (d.state === 'delivered') {
    return html`<span data-state="delivered">delivered</span> ${d.deliveredAt && time(d.deliveredAt, now)}`;
  }
  if (d.state === 'failed') return html`<strong data-state="failed">failed</strong> after ${tries}`;
  if (d.attempts === 0) return html`<span data-state="pending">waiting to be sent</span>`;
  return html`<span data-state="pending">retrying</span> (${tries}; next ${time(d.nextAttemptAt, now)})`;
}
