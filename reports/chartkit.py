"""What every chart shares: the matplotlib settings, one fixed look per waiter, axis tick
helpers, the footer naming the machine, and `save`, which writes the PNG (at --dpi) and an SVG
with editable text, a <title> and a <desc>. Deterministic: fixed hash salt, no dates, so the
same input gives the same bytes.
"""
from __future__ import annotations

import html
import math
import os
import textwrap
from dataclasses import dataclass, field

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib import ticker  # noqa: E402

from reports import fmt, metrics as mx  # noqa: E402

RC = {'svg.hashsalt': 'ipcbench', 'svg.fonttype': 'none', 'font.family': 'DejaVu Sans',
      'font.size': 8, 'axes.titlesize': 8.5, 'axes.labelsize': 8, 'xtick.labelsize': 7.5,
      'ytick.labelsize': 7.5, 'legend.fontsize': 7.5, 'axes.grid': True, 'grid.alpha': 0.3,
      'grid.linewidth': 0.5, 'figure.dpi': 100, 'path.simplify': False,
      'axes.spines.top': False, 'axes.spines.right': False}
DEFAULT_DPI = 200
PNG_META = {'Software': 'ipcbench ipcreport'}
WARN = '#b00020'          # the colour of notes a reader must not miss
# One look per waiter on every chart: colour, marker, line style (distinct in all three, so
# lines stay apart in print and for colour-blind readers).
SYNC_STYLE = {
    'spin': ('#1f77b4', 'o', '-'), 'yield': ('#ff7f0e', 's', '--'),
    'sleep': ('#7f7f7f', 'v', ':'), 'futex': ('#2ca02c', '^', '-'),
    'adaptive': ('#9467bd', 'D', '-.'), 'posix_sem': ('#8c564b', 'P', '--'),
    'sysv_sem': ('#e377c2', 'X', ':'), 'condvar': ('#bcbd22', '<', '-.'),
    'eventfd': ('#17becf', '>', '--'), 'block': ('#d62728', 'o', '-'),
    'poll': ('#8c6d31', 's', ':'), 'busy': ('#000000', 'd', '--'),
}
# Wait modes (how the sides really waited) and backends for scatter points.
MODE_COLOUR = {'spin': '#1f77b4', 'yield': '#ff7f0e', 'sleep': '#7f7f7f', 'block': '#d62728',
               'adaptive': '#9467bd'}
BACKEND_MARKER = {'sysv_shm': 'o', 'posix_shm': 's', 'mmap_file': '^', 'memfd': 'D',
                  'pipe': 'v', 'fifo': '<', 'unix_stream': '>', 'unix_seqpacket': 'P',
                  'sysv_msg': 'X', 'posix_mq': 'p', 'tcp_loopback': 'h'}
BACKEND_COLOUR = dict(zip(BACKEND_MARKER, ('#1f77b4', '#ff7f0e', '#2ca02c', '#d62728',
                                           '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
                                           '#bcbd22', '#17becf', '#000000')))
VARIANT_COLOURS = ('#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b')
DASHES = ('-', '--', ':', '-.')


@dataclass
class Options:
    out_dir: str
    dpi: int = DEFAULT_DPI
    metric: str = mx.MEDIAN
    size: int | None = None


@dataclass
class Chart:
    """A chart written as STEM.png and STEM.svg; `desc` says what it shows (also its <desc>)."""
    title: str
    stem: str
    desc: str
    notes: list = field(default_factory=list)     # warnings drawn on it; also in <desc>

    @property
    def files(self) -> list:
        return [self.stem + '.png', self.stem + '.svg']


def sync_style(sync: str, index: int = 0) -> tuple:
    """(colour, marker, line style) of a waiter; unknown ones take a free look by index."""
    if sync in SYNC_STYLE:
        return SYNC_STYLE[sync]
    return (VARIANT_COLOURS[index % len(VARIANT_COLOURS)], '*', DASHES[index % len(DASHES)])


def ns_tick(v, _pos=None):
    return fmt.short_ns(v)


def rate_tick(v, _pos=None):
    return fmt.short_rate(v)


def log_ticks(axis, formatter, most=30):
    """Labelled ticks on a log axis whatever its span: 1-2-5 within a decade or so, 1-3 over a
    few, decades beyond (matplotlib labels only decades, which may leave none in view); at
    most `most` labels (narrow panels), every other decade if need be."""
    lo, hi = axis.get_view_interval()
    span = math.log10(hi / lo) if lo > 0 and hi > lo else 10
    subs = (range(1, 10) if span <= 0.7 else (1, 2, 5) if span <= 1.6 else
            (1, 3) if span <= 3.2 else (1,))
    if span * len(subs) > most:
        subs = (1,)
    axis.set_major_locator(ticker.LogLocator(base=10, subs=tuple(subs), numticks=most + 1))
    axis.set_major_formatter(ticker.FuncFormatter(formatter))
    axis.set_minor_formatter(ticker.NullFormatter())


def size_axis(ax, sizes):
    ax.set_xscale('log', base=2)
    ax.xaxis.set_major_locator(ticker.FixedLocator(sizes))
    ax.xaxis.set_major_formatter(ticker.FixedFormatter([fmt.size_text(s) for s in sizes]))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    if len(sizes) == 1:
        ax.set_xlim(sizes[0] / 2, sizes[0] * 2)
    else:
        ax.set_xlim(sizes[0] / 1.5, sizes[-1] * 1.5)


def footer(sets) -> str:
    """CPU model, kernel, date, placement and build of each run, one line per result set."""
    lines = []
    for rs in sets:
        c = rs.context
        places = '/'.join(p.get('name', '?') for p in c.get('placements', [])) or '?'
        text = (f'{c.get("cpu_model", "?")}, {c.get("num_cpus", "?")} CPUs; '
                f'{c.get("kernel", "?")}; run {c.get("date", "?")}; placement {places}; '
                f'build {c.get("build_type", "?")}')
        lines.append(f'{rs.label}: {text}' if len(sets) > 1 else text)
    return '\n'.join(lines)


def add_footer(fig, sets, extra: str = '', below=None) -> None:
    """The footer under the figure, or under `below` (a legend placed under the axes);
    save() grows the image to keep it."""
    text = (f'{extra}\n' if extra else '') + footer(sets)
    y = -0.01
    if below is not None:
        box = below.get_window_extent(fig.canvas.get_renderer())
        y = min(y, box.y0 / fig.bbox.height - 0.01)
    fig.text(0.0, y, text, fontsize=6, color='0.35', ha='left', va='top',
             transform=fig.transFigure)


def wrapped(text: str, width_in: float, points: float = 7) -> str:
    """Text wrapped to a width in inches (DejaVu Sans averages about 0.55 em per character)."""
    return textwrap.fill(text, max(30, int(width_in * 72 / (points * 0.58))))


def only_placement_note(sets, placements) -> str:
    """The loud note of a run with one placement ('' when several were run)."""
    if len(placements) != 1:
        return ''
    from reports import answers
    place = placements[0] or '?'
    hand = answers.handoff(sets[0], place)
    cost = f' (a futex hand-off costs {fmt.short_ns(hand)} here)' if hand else ''
    if place == 'cross':
        return (f'Only the cross placement ran{cost}: blocking waiters wake the other CPU, '
                'on a VM ~20x slower than on one CPU. Run --placement cross,same to see both.')
    return f'Only the {place} placement ran{cost}. Run --placement cross,same to see both.'


def _svg_head(text: str, title: str, desc: str) -> str:
    """Puts <title> and <desc> first inside <svg> (screen readers and search read them)."""
    i = text.index('>', text.index('<svg')) + 1
    return (text[:i] + f'\n <title>{html.escape(title)}</title>\n <desc>{html.escape(desc)}'
            f'</desc>' + text[i:])


def save(fig, chart: Chart, opts: Options) -> Chart:
    """Writes the chart as PNG (opts.dpi) and SVG (text as <text>, <title>, <desc>), the
    bounding box grown to every label, so nothing is clipped. Closes the figure."""
    stem = os.path.join(opts.out_dir, chart.stem)
    kw = dict(bbox_inches='tight', pad_inches=0.08)
    meta = {'Date': None, 'Creator': 'ipcbench ipcreport', 'Format': None, 'Type': None,
            'Title': chart.title, 'Description': ' '.join([chart.desc] + chart.notes)}
    fig.savefig(stem + '.svg', format='svg', metadata=meta, **kw)
    fig.savefig(stem + '.png', format='png', dpi=opts.dpi, metadata=PNG_META, **kw)
    plt.close(fig)
    with open(stem + '.svg', encoding='utf-8') as f:
        text = f.read()
    with open(stem + '.svg', 'w', encoding='utf-8') as f:
        f.write(_svg_head(text, chart.title, ' '.join([chart.desc] + chart.notes)))
    return chart
