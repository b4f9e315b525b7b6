"""The HTML page's stylesheet, inlined so the report is one file with no external request."""

from __future__ import annotations

CSS = """
:root {
  --ink: #1f2328; --muted: #59636e; --rule: #d0d7de; --soft: #f6f8fa;
  --accent: #2e7dd1; --base: #eef2f7;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.55 -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", Helvetica, Arial,
    sans-serif;
}
header {
  background: #0f2742; color: #fff; padding: 22px 32px 14px;
}
header h1 { margin: 0 0 8px; font-size: 24px; font-weight: 650; letter-spacing: .2px; }
nav a {
  color: #cfe3ff; text-decoration: none; margin-right: 18px; font-size: 13.5px;
  border-bottom: 1px solid transparent;
}
nav a:hover { border-bottom-color: #cfe3ff; }
main { max-width: 1120px; margin: 0 auto; padding: 8px 32px 32px; }
section { margin-top: 26px; }
h2 {
  font-size: 19px; font-weight: 650; margin: 0 0 12px; padding-bottom: 6px;
  border-bottom: 2px solid var(--rule);
}
h3 { font-size: 15.5px; font-weight: 650; margin: 22px 0 8px; color: #24292f; }
p, li { max-width: 78ch; }
ul.summary { padding-left: 20px; margin: 6px 0; }
ul.summary li { margin: 2px 0; }
.table-wrap { overflow-x: auto; margin: 10px 0 18px; }
table.report {
  border-collapse: collapse; font-size: 13.5px; min-width: 50%;
  font-variant-numeric: tabular-nums;
}
p.table-title { font-weight: 600; margin: 0 0 6px; color: #24292f; max-width: none; }
table.report .ci {
  display: block; font-size: 11.5px; color: var(--muted); font-weight: 400; line-height: 1.2;
}
table.report th, table.report td { padding: 5px 12px; white-space: nowrap; }
table.report thead th {
  border-top: 2px solid var(--ink); border-bottom: 1px solid var(--ink); font-weight: 600;
}
table.report tbody tr:last-child th, table.report tbody tr:last-child td {
  border-bottom: 2px solid var(--ink);
}
table.report th.label { text-align: left; font-weight: 500; }
table.report thead th.label { font-weight: 600; }
table.report .num { text-align: right; }
table.report .text { text-align: left; }
table.report td.missing { color: #8c959f; }
table.report tbody tr:nth-child(even) { background: var(--soft); }
table.report tr.baseline { background: var(--base); }
table.report tr.baseline th, table.report tr.baseline td { border-bottom: 1px solid var(--rule); }
table.report strong { font-weight: 700; color: #000; }
sup.sig { color: #b42318; font-weight: 700; margin-left: 1px; }
sup.note { color: var(--muted); margin-left: 1px; }
ul.notes { margin: 6px 0 0; padding-left: 18px; color: var(--muted); font-size: 12.5px; }
ul.notes li { margin: 1px 0; }
figure { margin: 14px 0 22px; }
figure img {
  max-width: 100%; height: auto; border: 1px solid var(--rule); border-radius: 4px; display: block;
}
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
table.kv { border-collapse: collapse; font-size: 13.5px; }
table.kv th { text-align: left; font-weight: 600; padding: 3px 16px 3px 0; }
table.kv td { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
pre.config {
  background: var(--soft); border: 1px solid var(--rule); border-radius: 4px; padding: 12px 14px;
  font: 12.5px/1.45 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; overflow-x: auto;
}
footer {
  max-width: 1120px; margin: 0 auto; padding: 14px 32px 28px; color: var(--muted); font-size: 12.5px;
  border-top: 1px solid var(--rule);
}
@media print { header { background: none; color: var(--ink); } nav { display: none; } }
"""
