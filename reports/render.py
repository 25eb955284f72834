"""Renders the report's blocks (summary.py builds them) as Markdown (summary.md) and as one
self-contained HTML page (index.html: charts inlined as SVG, no external files), so the two
always say the same. A block is a tuple: ('h1'|'h2'|'h3'|'p'|'note', text), ('list', [text]),
('table', header, rows[, align]) with align 'l' or 'r' per column (default: the first left,
the others right), or ('chart', Chart). Text may hold **bold** and `code`.
"""
from __future__ import annotations

import html
import os
import re

_ID = re.compile(r'\bid="([^"]+)"')
_INLINE = re.compile(r'\*\*(.+?)\*\*|`([^`]+)`')
CSS = ('body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;'
       'color:#222;line-height:1.4}table{border-collapse:collapse;font-size:13px;margin:1em 0}'
       'td,th{border:1px solid #ccc;padding:3px 8px}td{text-align:right}'
       'td.l,th{text-align:left}th{background:#f3f3f3}'
       'svg{max-width:100%;height:auto}figure{margin:1em 0 2em}'
       '.note{border-left:4px solid #b00020;background:#fff3f3;padding:.5em 1em}')


def _align(block, n: int) -> str:
    return block[3] if len(block) > 3 else 'l' + 'r' * (n - 1)


def _cell(text: str) -> str:
    return str(text).replace('|', '\\|')


def markdown(blocks) -> str:
    out = []
    for b in blocks:
        kind = b[0]
        if kind in ('h1', 'h2', 'h3'):
            out += ['#' * int(kind[1]) + ' ' + b[1], '']
        elif kind == 'p':
            out += [b[1], '']
        elif kind == 'note':
            out += [f'> **{b[1]}**', '']
        elif kind == 'list':
            out += [f'- {x}' for x in b[1]] + ['']
        elif kind == 'table':
            header, rows = b[1], b[2]
            align = _align(b, len(header))
            out += ['| ' + ' | '.join(_cell(h) for h in header) + ' |',
                    '|' + ''.join('---|' if a == 'l' else '---:|' for a in align)]
            out += ['| ' + ' | '.join(_cell(c) for c in r) + ' |' for r in rows] + ['']
        elif kind == 'chart':
            c = b[1]
            out += [f'### {c.title}', '', c.desc, '', f'![{c.title}]({c.stem}.svg)', '',
                    f'PNG: [{c.stem}.png]({c.stem}.png)', '']
    return '\n'.join(out)


def _inline(text: str) -> str:
    """Escapes text for HTML, turning **x** into <b>x</b> and `x` into <code>x</code>."""
    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[last:m.start()]))
        out.append(f'<b>{html.escape(m.group(1))}</b>' if m.group(1) is not None
                   else f'<code>{html.escape(m.group(2))}</code>')
        last = m.end()
    return ''.join(out) + html.escape(text[last:])


def inline_svg(path: str, prefix: str) -> str:
    """An SVG file's markup for inlining in HTML, its ids prefixed so that several charts on
    one page never resolve each other's references."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    text = text[text.index('<svg'):]
    text = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r'url\(#', f'url(#{prefix}', text)
    return re.sub(r'href="#', f'href="#{prefix}', text)


def html_page(blocks, out_dir: str) -> str:
    body, n = [], 0
    for b in blocks:
        kind = b[0]
        if kind in ('h1', 'h2', 'h3'):
            body.append(f'<{kind}>{_inline(b[1])}</{kind}>')
        elif kind == 'p':
            body.append(f'<p>{_inline(b[1])}</p>')
        elif kind == 'note':
            body.append(f'<p class="note"><b>{_inline(b[1])}</b></p>')
        elif kind == 'list':
            body.append('<ul>' + ''.join(f'<li>{_inline(x)}</li>' for x in b[1]) + '</ul>')
        elif kind == 'table':
            align = _align(b, len(b[1]))
            body.append('<table><tr>' + ''.join(f'<th>{_inline(h)}</th>' for h in b[1])
                        + '</tr>' + ''.join('<tr>' + ''.join(
                            f'<td{" class=l" if a == "l" else ""}>{_inline(str(c))}</td>'
                            for c, a in zip(r, align)) + '</tr>' for r in b[2]) + '</table>')
        elif kind == 'chart':
            c = b[1]
            body.append(f'<figure><h3>{html.escape(c.title)}</h3><p>{html.escape(c.desc)}</p>'
                        f'{inline_svg(os.path.join(out_dir, c.stem + ".svg"), f"c{n}-")}'
                        '</figure>')
            n += 1
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<title>ipcbench results</title>'
            f'<style>{CSS}</style></head><body>\n' + '\n'.join(body) + '\n</body></html>\n')
