"""Server-side SVG bar charts, readable without colour: every series has its own fill pattern
(solid, hatched, dotted, cross-hatched) named in a legend, every bar carries its value as text,
and the chart has a <title> and a <desc> that says in words what it shows. The geometry is worked
out here; ``templates/reports/_chart.html`` only draws it. The figures are also in the table next
to each chart."""
from dataclasses import dataclass, field

PATTERNS = ("solid", "hatch", "dots", "cross")
WIDTH = 640
LABEL_WIDTH = 190
VALUE_ROOM = 80
BAR_HEIGHT = 16
BAR_GAP = 3
GROUP_GAP = 12
LEGEND_ROW = 20
LABEL_CHARS = 28


@dataclass
class Bar:
    series: int
    pattern: str
    value: float
    text: str
    x: float
    y: float
    width: float
    height: float
    text_x: float
    text_y: float


@dataclass
class Group:
    label: str
    short: str
    label_y: float
    bars: list = field(default_factory=list)


@dataclass
class Legend:
    name: str
    pattern: str
    y: float


@dataclass
class Chart:
    id: str
    title: str
    desc: str
    width: int
    height: int
    label_width: int
    legend: list
    groups: list
    patterns: tuple = PATTERNS


def _short(label):
    label = str(label)
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


def bar_chart(chart_id, title, categories, series, values, fmt, *, maximum=None):
    """A horizontal bar chart: one group of bars per category, one bar per series.

    ``values[i][j]`` is category i's value for series j (None: no bar, "–" as its text);
    ``fmt(value)`` gives the text shown at the end of each bar. Returns None when there is
    nothing to draw."""
    if not categories:
        return None
    numbers = [v for row in values for v in row if v is not None]
    top = maximum if maximum is not None else max(numbers, default=0)
    scale = (WIDTH - LABEL_WIDTH - VALUE_ROOM) / top if top else 0
    legend = []
    y = 4.0
    if len(series) > 1:
        for index, name in enumerate(series):
            legend.append(Legend(str(name), PATTERNS[index % len(PATTERNS)], y))
            y += LEGEND_ROW
        y += 6
    groups = []
    lines = []
    for label, row in zip(categories, values):
        group = Group(str(label), _short(label), 0)
        top_y = y
        parts = []
        for index, value in enumerate(row):
            length = (value or 0) * scale
            text = fmt(value) if value is not None else "–"
            group.bars.append(Bar(index, PATTERNS[index % len(PATTERNS)], value or 0, text,
                                  LABEL_WIDTH, y, round(length, 1), BAR_HEIGHT,
                                  round(LABEL_WIDTH + length + 5, 1), y + BAR_HEIGHT - 4))
            parts.append(f"{series[index]} {text}" if len(series) > 1 else text)
            y += BAR_HEIGHT + BAR_GAP
        group.label_y = round((top_y + y - BAR_GAP) / 2 + 4, 1)
        groups.append(group)
        lines.append(f"{label}: {', '.join(parts)}")
        y += GROUP_GAP
    desc = "; ".join(lines) + "."
    return Chart(chart_id, str(title), desc, WIDTH, int(y), LABEL_WIDTH, legend, groups)
