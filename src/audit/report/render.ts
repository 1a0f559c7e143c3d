import { html, type SafeHtml } from '../../approvals/web/html.js';
import { VERSION } from '../../version.js';
import { durationHistogram } from './chart.js';
import { DECISION_KINDS, type ApprovalRow, type ReportModel } from './model.js';
import { REPORT_CSP, REPORT_STYLE_ELEMENT } from './style.js';

/**
 * The evidence report as one self-contained HTML file: inline CSS allowed by its hash, an inline SVG
 * chart, no script, nothing fetched. Every value goes through the `html` tag, which escapes it:
 * arguments, reasons and tool names come from clients and downstream servers.
 */

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

const END_BADGE: Record<string, string> = {
  executed: 'good',
  approved: 'good',
  executing: 'warn',
  pending: 'warn',
  'tool error': 'warn',
  unknown: 'bad',
  failed: 'bad',
  rejected: 'bad',
  expired: 'bad',
  cancelled: 'bad',
  quarantined: 'bad',
};

const badge = (text: string, kind = END_BADGE[text] ?? '') =>
  html`<span class="badge ${kind}">${text}</span>`;
const none = (text: string) => html`<p class="empty">${text}</p>`;
const period = (model: ReportModel) =>
  `${model.period.since ?? 'the first record'} — ${model.period.until ?? 'the last record'}`;

function decisionsList(row: ApprovalRow): SafeHtml {
  if (row.decisions.length === 0) return html`<span class="empty">none recorded</span>`;
  return html`<ul class="plain">
    ${row.decisions.map(
      (d) =>
        html`<li>
          <strong>${d.approver}</strong> ${d.verdict === 'approve' ? 'approved' : 'rejected'} at
          <span class="mono time">${d.at}</span> via ${d.channel}${d.reason ? html`: “${d.reason}”` : ''}
        </li>`,
    )}
  </ul>`;
}

function requestTable(rows: readonly ApprovalRow[], testid: string): SafeHtml {
  return html`<table data-testid="${testid}">
    <thead>
      <tr>
        <th>Call · approval</th>
        <th>Requested by</th>
        <th>Requested at</th>
        <th>Rule · policy</th>
        <th>Decisions</th>
        <th>Outcome</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (r) =>
          html`<tr data-approval="${r.approvalId}">
            <td>
              <strong>${r.server}/${r.tool}</strong><br /><span class="sub mono">${r.approvalId}</span
              >${r.reason ? html`<br /><span class="sub">${r.reason}</span>` : ''}
            </td>
            <td>
              ${r.requester ? html`${r.requester.id}${r.requester.groups.length ? html`<br /><span class="sub">${r.requester.groups.join(', ')}</span>` : ''}` : '?'}
            </td>
            <td class="mono time">${r.requestedAt ?? '?'}</td>
            <td>
              ${r.rules.join(', ') || 'default'}${r.policyVersion ? html`<br /><span class="sub mono">${r.policyVersion}</span>` : ''}
            </td>
            <td>${decisionsList(r)}</td>
            <td>
              ${badge(r.end)}${r.endTime ? html`<br /><span class="mono time">${r.endTime}</span>` : ''}${r.endDetail ? html`<br /><span class="sub detail">${r.endDetail}</span>` : ''}
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function verificationSection(model: ReportModel): SafeHtml {
  const v = model.verification;
  if (!v)
    return html`<section id="verification">
      <h2>Verification</h2>
      ${none('Not verified: no keys were given.')}
    </section>`;
  const latest = v.latestCheckpoint;
  return html`<section id="verification" data-testid="verification" data-ok="${v.ok}">
    <h2>Verification</h2>
    <div class="banner ${v.ok ? 'ok' : 'bad'}">
      ${
        v.ok
          ? `The log verifies: every record, the hash chain, the Merkle tree and every signed checkpoint hold.`
          : `The log does NOT verify: ${v.problem?.message ?? 'unknown problem'}`
      }
    </div>
    <dl class="facts">
      <dt>Log</dt>
      <dd class="mono">${v.dir}</dd>
      <dt>Records</dt>
      <dd data-testid="verified-records">${v.records} (${v.checked} checked line by line)</dd>
      <dt>Checkpoints verified</dt>
      <dd>${v.checkpoints}</dd>
      <dt>Checked against</dt>
      <dd data-testid="checkpoint">
        ${
          latest
            ? html`checkpoint <span class="mono">${latest.source}</span>: ${latest.size} records, root hash
                <span class="mono">${latest.rootHash}</span>, signed by
                <span class="mono">${latest.key}</span>`
            : 'no signed checkpoint'
        }
      </dd>
      ${
        v.uncovered &&
        html`<dt>Not yet signed</dt>
          <dd>records ${v.uncovered.from}–${v.uncovered.to}: linked, but no checkpoint covers them yet</dd>`
      }
      ${
        !v.ok &&
        v.problem &&
        html`<dt>First bad record</dt>
          <dd>
            ${v.problem.seq ?? '—'} ${v.problem.at ? html`at <span class="mono">${v.problem.at}</span>` : ''}
            (${v.problem.reason})
          </dd>`
      }
      <dt>Keys</dt>
      <dd>${v.keys}</dd>
      ${
        v.witnesses.length > 0 &&
        html`<dt>Witnesses</dt>
          <dd class="mono">${v.witnesses.join(', ')}</dd>`
      }
    </dl>
  </section>`;
}

export function renderReport(model: ReportModel): string {
  const ttd = model.timeToDecision;
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Gatehouse audit evidence: ${period(model)}</title>
        ${REPORT_STYLE_ELEMENT}
      </head>
      <body>
        <main>
          <h1>Gatehouse audit evidence</h1>
          <p class="sub">
            Period <strong data-testid="period">${period(model)}</strong> · generated ${model.generatedAt} by
            Gatehouse ${VERSION}
          </p>

          ${verificationSection(model)}

          <section id="summary">
            <h2>Activity in the period</h2>
            <div class="tiles">
              <div class="tile">
                <div class="n" data-testid="records">${model.records.count}</div>
                <div class="what">
                  records${model.records.first ? html`, ${model.records.first} to ${model.records.last}` : ''}
                </div>
              </div>
              ${DECISION_KINDS.map(
                (kind) =>
                  html`<div class="tile">
                    <div class="n" data-testid="decisions-${kind}">${model.decisions[kind]}</div>
                    <div class="what">
                      calls decided
                      <strong>${kind}</strong
                      >${kind === 'shadow' ? html` (not enforced: ${model.shadow.allow} allow, ${model.shadow.deny} deny, ${model.shadow.approve} approve)` : ''}
                    </div>
                  </div>`,
              )}
              <div class="tile">
                <div class="n" data-testid="privileged-count">${model.privileged.length}</div>
                <div class="what">privileged actions (approved)</div>
              </div>
              <div class="tile${model.selfApprovals > 0 ? ' alert' : ''}">
                <div class="n" data-testid="self-approvals">${model.selfApprovals}</div>
                <div class="what">refused self-approvals</div>
              </div>
            </div>
            ${model.records.unknown > 0 && html`<p class="sub">${model.records.unknown} record(s) are events this version of Gatehouse does not know; they are counted, not interpreted.</p>`}
          </section>

          <section id="policies">
            <h2>Policy versions in force</h2>
            ${
              model.policies.length === 0
                ? none('No policy version recorded for the period.')
                : html`<table data-testid="policies">
                    <thead>
                      <tr>
                        <th>Version</th>
                        <th>Since</th>
                        <th>How</th>
                        <th class="num">Rules</th>
                        <th>Files</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${model.policies.map(
                        (p) =>
                          html`<tr>
                            <td class="mono">${p.version}</td>
                            <td class="mono time">${p.time}</td>
                            <td>${p.how}</td>
                            <td class="num">${p.rules ?? '—'}</td>
                            <td class="mono">${(p.files ?? []).join(', ') || '—'}</td>
                          </tr>`,
                      )}
                    </tbody>
                  </table>`
            }
            ${
              model.policyRejections.length > 0 &&
              html`<p>Rejected policy changes (the version before stayed in force):</p>
                <ul>
                  ${model.policyRejections.map((r) => html`<li><span class="mono">${r.time}</span>: ${r.error} (kept ${r.version})</li>`)}
                </ul>`
            }
          </section>

          <section id="privileged">
            <h2>Privileged actions: every approved call</h2>
            ${model.privileged.length === 0 ? none('No call was approved in the period.') : requestTable(model.privileged, 'privileged')}
          </section>

          <section id="not-run">
            <h2>Rejected, expired and cancelled requests</h2>
            ${model.refused.length === 0 ? none('None in the period.') : requestTable(model.refused, 'not-run')}
          </section>

          <section id="refusals">
            <h2>Refused approval attempts</h2>
            <p class="sub">
              Decisions Gatehouse did not count: <strong>${model.selfApprovals}</strong> self-approval(s) (the
              requester deciding on their own request), and others (not a listed approver, too late).
            </p>
            ${
              model.refusals.length === 0
                ? none('None in the period.')
                : html`<table data-testid="refusals">
                    <thead>
                      <tr>
                        <th>Time</th>
                        <th>Approval</th>
                        <th>Who tried</th>
                        <th>Requester</th>
                        <th>Verdict · channel</th>
                        <th>Why refused</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${model.refusals.map(
                        (r) =>
                          html`<tr data-code="${r.code}">
                            <td class="mono time">${r.time}</td>
                            <td class="mono">${r.approvalId}</td>
                            <td>${r.approver}</td>
                            <td>${r.requester ?? '?'}</td>
                            <td>${r.verdict} · ${r.channel}</td>
                            <td>${badge(r.code, 'bad')} ${r.message}</td>
                          </tr>`,
                      )}
                    </tbody>
                  </table>`
            }
          </section>

          <section id="time-to-decision">
            <h2>Time from request to decision</h2>
            ${
              ttd.samples.length === 0
                ? none('No request was decided in the period.')
                : html`<dl class="facts">
                      <dt>Decided requests</dt>
                      <dd data-testid="ttd-count">${ttd.samples.length}</dd>
                      <dt>Median</dt>
                      <dd data-testid="ttd-median" data-ms="${ttd.medianMs}">
                        ${formatDuration(ttd.medianMs!)}
                      </dd>
                      <dt>90th percentile</dt>
                      <dd data-testid="ttd-p90" data-ms="${ttd.p90Ms}">${formatDuration(ttd.p90Ms!)}</dd>
                    </dl>
                    ${durationHistogram(ttd.buckets, ttd)}`
            }
          </section>

          <footer>
            <p>
              Each record of the trail is a line of the append-only audit log, hashed into a Merkle tree (RFC
              6962) whose head is signed as a C2SP checkpoint. Anyone holding the published verifier key can
              check this log offline: <code>gatehouse audit verify --dir DIR --key PUBKEY</code>; the story of
              one approval is <code>gatehouse audit show ID</code>.
            </p>
            <p>
              Counts: calls by their policy decision record; approvals by any of their records falling in the
              period, shown whole; time to decision from the request record to the decision that settled it
              (median of all, 90th percentile by nearest rank).
            </p>
          </footer>
        </main>
      </body>
    </html> `;
  return page.toString();
}
