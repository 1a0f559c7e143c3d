import { html, type SafeHtml } from '../../approvals/web/html.js';
import type { DurationBucket } from './model.js';

/**
 * The time-to-decision histogram as inline SVG: one bar a bucket, its count above it, the buckets
 * holding the median and the 90th percentile marked. Drawn with presentation attributes and classes
 * only (no inline style), so the report's CSP needs no exception for it.
 */

const WIDTH = 720;
const HEIGHT = 240;
const TOP = 28;
const BOTTOM = 44;
const SIDE = 16;

export function durationHistogram(
  buckets: readonly DurationBucket[],
  marks: { medianMs?: number; p90Ms?: number },
): SafeHtml {
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const slot = (WIDTH - 2 * SIDE) / buckets.length;
  const barWidth = slot * 0.7;
  const plot = HEIGHT - TOP - BOTTOM;
  const holds = (ms: number | undefined, i: number) =>
    ms !== undefined && ms < buckets[i]!.upToMs && (i === 0 || ms >= buckets[i - 1]!.upToMs);
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  const bars = buckets.map((bucket, i) => {
    const height = (bucket.count / max) * plot;
    const x = SIDE + i * slot + (slot - barWidth) / 2;
    const y = TOP + plot - height;
    const marked = [holds(marks.medianMs, i) && 'median', holds(marks.p90Ms, i) && 'p90'].filter(Boolean);
    return html`<g
      class="bucket${marked.length ? ' marked' : ''}"
      data-bucket="${bucket.label}"
      data-count="${bucket.count}"
    >
      <rect
        x="${x.toFixed(1)}"
        y="${y.toFixed(1)}"
        width="${barWidth.toFixed(1)}"
        height="${height.toFixed(1)}"
        rx="3"
      ></rect>
      <text class="count" x="${(x + barWidth / 2).toFixed(1)}" y="${(y - 6).toFixed(1)}" text-anchor="middle"
        >${bucket.count}</text
      >
      <text
        class="label"
        x="${(x + barWidth / 2).toFixed(1)}"
        y="${HEIGHT - BOTTOM + 18}"
        text-anchor="middle"
        >${bucket.label}</text
      >
      ${marked.length > 0 && html`<text class="mark" x="${(x + barWidth / 2).toFixed(1)}" y="${HEIGHT - BOTTOM + 34}" text-anchor="middle">${marked.join(' · ')}</text>`}
    </g>`;
  });
  return html`<svg
    class="histogram"
    role="img"
    aria-labelledby="ttd-title ttd-desc"
    viewBox="0 0 ${WIDTH} ${HEIGHT}"
    width="${WIDTH}"
    height="${HEIGHT}"
    xmlns="http://www.w3.org/2000/svg"
  >
    <title id="ttd-title">Time from approval request to decision</title>
    <desc id="ttd-desc">
      ${total} decided request(s) by time to decision:
      ${buckets.map((b) => `${b.label}: ${b.count}`).join('; ')}
    </desc>
    <line class="axis" x1="${SIDE}" y1="${TOP + plot}" x2="${WIDTH - SIDE}" y2="${TOP + plot}"></line>
    ${bars}
  </svg>`;
}
