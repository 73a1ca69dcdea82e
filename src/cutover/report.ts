// Reconcile reports: JSON (the report as is), CSV (one line per discrepancy and known
// difference) and a self-contained HTML page (summary, totals, a table filterable by class and
// text) that an operator can open from a file or attach to a ticket: no script or style is fetched.
import type { ReconcileReport } from './reconcile.js';

export type ReportFormat = 'json' | 'csv' | 'html' | 'text';

export function renderReport(report: ReconcileReport, format: ReportFormat): string {
  switch (format) {
    case 'json': return JSON.stringify(report, null, 2) + '\n';
    case 'csv': return renderCsv(report);
    case 'html': return renderHtml(report);
    default: return renderText(report);
  }
}

const CSV_COLUMNS = ['status', 'class', 'table', 'legacy_id', 'account_id', 'msisdn', 'owner', 'asset', 'legacy', 'mari', 'difference', 'legacy_expires_at', 'mari_expires_at', 'note'] as const;

function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function renderCsv(report: ReconcileReport): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const d of report.discrepancies) lines.push(CSV_COLUMNS.map((c) => csvField(c === 'status' ? 'unexplained' : (d as unknown as Record<string, unknown>)[c])).join(','));
  for (const k of report.known) {
    const row: Record<string, unknown> = { status: 'known', class: k.class, table: k.table, legacy_id: k.legacy_id, asset: k.asset, difference: k.amount, note: `${k.count} row(s): ${k.note}` };
    lines.push(CSV_COLUMNS.map((c) => csvField(row[c])).join(','));
  }
  return lines.join('\n') + '\n';
}

function renderText(report: ReconcileReport): string {
  const out: string[] = [];
  out.push(`reconcile ${report.source} against mari (buckets as of ${report.as_of}) in ${report.seconds.toFixed(2)} s`);
  for (const [table, c] of Object.entries(report.compared)) {
    out.push(`  ${table.padEnd(15)} legacy ${c.legacy_rows} rows, mari ${c.mari_rows}; ${c.ranges_differing} of ${c.ranges} ranges differ, ${c.rows_drilled} rows read again`);
  }
  out.push('  totals:');
  for (const t of report.totals) out.push(`    ${t.asset.padEnd(12)} ${t.owner.padEnd(11)} legacy ${t.legacy.padStart(18)}  mari ${t.mari.padStart(18)}  difference ${t.difference}`);
  out.push(`  known differences: ${report.known.length} (${summarise(report.known.map((k) => k.class))})`);
  if (report.ok) out.push('OK: no unexplained difference');
  else {
    out.push(`FAILED: ${report.discrepancies.length} unexplained (${summarise(report.discrepancies.map((d) => d.class))})`);
    for (const d of report.discrepancies.slice(0, 50)) {
      out.push(`    ${d.class.padEnd(15)} ${d.table} ${d.legacy_id} ${d.account_id ?? '-'} ${d.msisdn ?? ''} ${d.asset} legacy ${d.legacy ?? '-'} mari ${d.mari ?? '-'}${d.legacy_expires_at !== undefined ? ` expiry ${d.legacy_expires_at} vs ${d.mari_expires_at}` : ''}`);
    }
    if (report.discrepancies.length > 50) out.push(`    … and ${report.discrepancies.length - 50} more (--format json, csv or html for all)`);
  }
  return out.join('\n') + '\n';
}

function summarise(classes: string[]): string {
  const counts = new Map<string, number>();
  for (const c of classes) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts].map(([c, n]) => `${c} ${n}`).join(', ') || 'none';
}

function escapeHtml(text: unknown): string {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function renderHtml(report: ReconcileReport): string {
  const rows = [
    ...report.discrepancies.map((d) => ({ status: 'unexplained', ...d, note: d.legacy_expires_at !== undefined ? `expiry legacy ${d.legacy_expires_at ?? 'never'}, mari ${d.mari_expires_at ?? 'never'}` : '' })),
    ...report.known.map((k) => ({ status: 'known', class: k.class, table: k.table, legacy_id: k.legacy_id, account_id: null, msisdn: null, owner: null, asset: k.asset, legacy: null, mari: null, difference: k.amount, note: `${k.count} row(s): ${k.note}` })),
  ];
  const classes = [...new Set(rows.map((r) => r.class))].sort();
  const body = rows.map((r) => `<tr data-class="${escapeHtml(r.class)}" data-status="${r.status}"><td>${r.status}</td><td>${escapeHtml(r.class)}</td><td>${escapeHtml(r.table)}</td><td>${escapeHtml(r.legacy_id)}</td><td>${escapeHtml(r.account_id)}</td><td>${escapeHtml(r.msisdn)}</td><td>${escapeHtml(r.owner)}</td><td>${escapeHtml(r.asset)}</td><td class="n">${escapeHtml(r.legacy)}</td><td class="n">${escapeHtml(r.mari)}</td><td class="n">${escapeHtml(r.difference)}</td><td>${escapeHtml(r.note)}</td></tr>`).join('\n');
  const totals = report.totals.map((t) => `<tr${t.difference.replace(/[-0.]/g, '') ? ' class="bad"' : ''}><td>${escapeHtml(t.asset)}</td><td>${escapeHtml(t.owner)}</td><td class="n">${escapeHtml(t.legacy)}</td><td class="n">${escapeHtml(t.mari)}</td><td class="n">${escapeHtml(t.difference)}</td></tr>`).join('\n');
  const compared = Object.entries(report.compared).map(([table, c]) => `<li>${escapeHtml(table)}: legacy ${c.legacy_rows} rows, mari ${c.mari_rows}; ${c.ranges_differing} of ${c.ranges} ranges differ, ${c.rows_drilled} rows read again</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mari reconcile: ${report.ok ? 'OK' : `${report.discrepancies.length} unexplained`}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}h1{font-size:1.3rem}.ok{color:#17612b}.fail{color:#a11}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.bad td{background:#fde8e8}tr[data-status=known] td{color:#555}input,select{font:inherit;margin-right:.5rem}
</style></head><body>
<h1 class="${report.ok ? 'ok' : 'fail'}">${report.ok ? 'OK: no unexplained difference' : `${report.discrepancies.length} unexplained difference(s)`}</h1>
<p>Legacy source ${escapeHtml(report.source)}, compared ${escapeHtml(report.generated_at)} in ${report.seconds.toFixed(2)} s; buckets as of ${escapeHtml(report.as_of)}.</p>
<ul>${compared}</ul>
<h2>Totals per asset and owner</h2>
<table><thead><tr><th>asset</th><th>owner</th><th>legacy</th><th>mari</th><th>difference</th></tr></thead><tbody>${totals}</tbody></table>
<h2>Differences</h2>
<p><select id="cls"><option value="">every class</option>${classes.map((c) => `<option>${escapeHtml(c)}</option>`).join('')}</select>
<select id="st"><option value="">unexplained and known</option><option>unexplained</option><option>known</option></select>
<input id="q" placeholder="filter: id, account, msisdn…" size="30"><span id="shown"></span></p>
<table id="d"><thead><tr><th>status</th><th>class</th><th>table</th><th>legacy id</th><th>mari account</th><th>msisdn</th><th>owner</th><th>asset</th><th>legacy</th><th>mari</th><th>difference</th><th>note</th></tr></thead>
<tbody>
${body}
</tbody></table>
<script>
const cls=document.getElementById('cls'),st=document.getElementById('st'),q=document.getElementById('q'),shown=document.getElementById('shown');
function filter(){const c=cls.value,s=st.value,t=q.value.toLowerCase();let n=0;for(const tr of document.querySelectorAll('#d tbody tr')){const on=(!c||tr.dataset.class===c)&&(!s||tr.dataset.status===s)&&(!t||tr.textContent.toLowerCase().includes(t));tr.hidden=!on;if(on)n++;}shown.textContent=n+' shown';}
cls.onchange=st.onchange=filter;q.oninput=filter;filter();
</script>
</body></html>
`;
}
