"""SVG pictures: a sampled DAG, and a tool's neighbourhood in the tool graph.

networkx lays the graphs out (layers of a DAG side by side; shells around a tool); this
module only draws boxes, labels and arrows. Every label is tool or server text from the
outside: it is escaped for XML (control characters replaced) and cut to a readable length,
the full text kept in a ``<title>`` tooltip (escaped too).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence

import networkx as nx

Tool = tuple[str, str]  # (server, name)

FONT = 12
CHAR = 7.0  # average advance of a 12px sans-serif character
BOX_H = 42
MAX_LABEL = 32
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

COLOURS = {
    "ok": ("#e6f4ea", "#1e8e3e"),
    "error": ("#fce8e6", "#d93025"),
    "not called": ("#f1f3f4", "#9aa0a6"),
    None: ("#e8f0fe", "#1a73e8"),
    "centre": ("#fef7e0", "#f29900"),
}


def text(value: object) -> str:
    """Escaped text for an SVG (XML) document."""
    return html.escape(_CONTROL.sub("\ufffd", str(value)), quote=True)


def cut(value: str, limit: int = MAX_LABEL) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _box_width(*labels: str) -> float:
    return max(len(cut(label)) for label in labels) * CHAR + 24


def _clip(cx: float, cy: float, w: float, h: float, tx: float, ty: float) -> tuple[float, float]:
    """Where the segment from a box's centre toward (tx, ty) leaves the box."""
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min((w / 2) / abs(dx) if dx else float("inf"), (h / 2) / abs(dy) if dy else float("inf"))
    return cx + dx * scale, cy + dy * scale


def _document(width: float, height: float, title: str, body: list[str]) -> str:
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{width:.0f}"'
        f' height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="{FONT}">',
        f"<title>{text(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8"'
        ' orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#5f6368"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        *body,
        "</svg>",
    ])


def _node(x: float, y: float, w: float, server: str, name: str, *, state: str | None = None, badge: str | None = None,
          href: str | None = None, tooltip: str | None = None) -> str:
    fill, stroke = COLOURS.get(state, COLOURS[None])
    parts = [
        f'<g class="node" data-tool="{text(server)}/{text(name)}">',
        f"<title>{text(tooltip or f'{server}/{name}')}</title>",
        f'<rect x="{x - w / 2:.1f}" y="{y - BOX_H / 2:.1f}" width="{w:.1f}" height="{BOX_H}" rx="6"'
        f' fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>',
        f'<text x="{x:.1f}" y="{y - 5:.1f}" text-anchor="middle" fill="#5f6368" font-size="10">{text(cut(server))}</text>',
        f'<text x="{x:.1f}" y="{y + 11:.1f}" text-anchor="middle" fill="#202124" font-weight="bold">{text(cut(name))}</text>',
    ]
    if badge is not None:
        parts.append(f'<circle cx="{x - w / 2:.1f}" cy="{y - BOX_H / 2:.1f}" r="9" fill="{stroke}"/>'
                     f'<text x="{x - w / 2:.1f}" y="{y - BOX_H / 2 + 4:.1f}" text-anchor="middle" fill="#ffffff"'
                     f' font-size="10">{text(badge)}</text>')
    parts.append("</g>")
    group = "".join(parts)
    if href is not None:
        group = f'<a href="{text(href)}" xlink:href="{text(href)}">{group}</a>'
    return group


def _arrow(a: tuple[float, float, float], b: tuple[float, float, float], label: str | None = None) -> str:
    (ax, ay, aw), (bx, by, bw) = a, b
    x1, y1 = _clip(ax, ay, aw, BOX_H, bx, by)
    x2, y2 = _clip(bx, by, bw, BOX_H, ax, ay)
    tip = f"<title>{text(label)}</title>" if label else ""
    return (f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#5f6368"'
            f' stroke-width="1.3" marker-end="url(#arrow)">{tip}</line>')


def dag_svg(tools: Sequence[Tool], edges: Sequence[tuple[int, int]], *, title: str = "",
            outcomes: dict[int, str] | None = None, link: Callable[[Tool], str] | None = None) -> str:
    """A sampled DAG, layers left to right (a tool's layer is its longest path from a
    source); each box shows the server, the tool and its step. ``outcomes`` colours steps
    (``ok``, ``error``, ``not called``)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(tools)))
    graph.add_edges_from((int(i), int(j)) for i, j in edges if 0 <= int(i) < len(tools) and 0 <= int(j) < len(tools))
    if not nx.is_directed_acyclic_graph(graph):
        graph.remove_edges_from(list(nx.find_cycle(graph)))
    layer: dict[int, int] = {}
    for node in nx.topological_sort(graph):
        layer[node] = max((layer[p] + 1 for p in graph.predecessors(node)), default=0)
    nx.set_node_attributes(graph, layer, "layer")
    widths = {i: _box_width(s, n) for i, (s, n) in enumerate(tools)}
    column = max(widths.values(), default=100) + 70
    per_layer: dict[int, int] = {}
    for node, lay in layer.items():
        per_layer[lay] = per_layer.get(lay, 0) + 1
    rows = max(per_layer.values(), default=1)
    layers = max(per_layer, default=0) + 1
    width, height = layers * column + 20, rows * (BOX_H + 34) + 56
    positions = nx.multipartite_layout(graph, subset_key="layer", align="vertical", scale=1.0) if tools else {}
    xs = [p[0] for p in positions.values()] or [0.0]
    ys = [p[1] for p in positions.values()] or [0.0]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0

    def place(node: int) -> tuple[float, float, float]:
        px, py = positions[node]
        x = 10 + column / 2 + (px - min(xs)) / span_x * (layers - 1) * column
        y = 45 + BOX_H / 2 + ((max(ys) - py) / span_y * (rows - 1) * (BOX_H + 34) if rows > 1 else 0)
        return x, y, widths[node]

    at = {node: place(node) for node in graph.nodes}
    body = [f'<text x="10" y="20" fill="#202124" font-weight="bold">{text(cut(title, 90))}</text>'] if title else []
    body += [_arrow(at[i], at[j], f"{tools[i][0]}/{tools[i][1]} → {tools[j][0]}/{tools[j][1]}") for i, j in graph.edges]
    for node in graph.nodes:
        server, name = tools[node]
        state = (outcomes or {}).get(node) if outcomes is not None else None
        if outcomes is not None and state is None:
            state = "not called"
        body.append(_node(at[node][0], at[node][1], at[node][2], server, name, state=state, badge=str(node),
                          href=link((server, name)) if link else None))
    return _document(width, height, title or "sampled DAG", body)


def neighbourhood_svg(centre: Tool, edges: Sequence[tuple[Tool, Tool, float]], *, radius: int = 1,
                      link: Callable[[Tool], str] | None = None, limit: int = 40) -> str:
    """A tool and the tools within ``radius`` edges of it (either direction), on shells
    around it; arrows follow the edges' direction. At most ``limit`` neighbours are drawn
    (the best scored first)."""
    graph = nx.DiGraph()
    graph.add_node(centre)
    for source, target, score in edges:
        graph.add_edge(source, target, score=score)
    distance = nx.single_source_shortest_path_length(graph.to_undirected(as_view=True), centre, cutoff=radius)
    best: dict[Tool, float] = {}
    for u, v, data in graph.edges(data=True):
        for node in (u, v):
            best[node] = max(best.get(node, 0.0), float(data.get("score", 0.0)))
    near = sorted((n for n in distance if n != centre), key=lambda n: (distance[n], -best.get(n, 0.0), n))[:limit]
    kept = {centre, *near}
    sub = graph.subgraph(kept)
    shells = [[centre]] + [sorted(n for n in near if distance[n] == d) for d in range(1, radius + 1)]
    shells = [s for s in shells if s]
    widest = max((_box_width(s, n) for s, n in kept), default=100)
    ring = max(150.0, max((len(s) for s in shells[1:]), default=1) * (BOX_H + 10) / 6.28 * 1.2, widest * 0.9)
    size = 2 * ring * max(1, len(shells) - 1) + widest + 60
    positions = nx.shell_layout(sub, nlist=shells, scale=1.0) if len(shells) > 1 else {centre: (0.0, 0.0)}
    half = size / 2

    def place(node: Tool) -> tuple[float, float, float]:
        px, py = positions[node]
        return half + px * ring * max(1, len(shells) - 1), half - py * ring * max(1, len(shells) - 1) + 10, _box_width(*node)

    at = {node: place(node) for node in sub.nodes}
    label = f"{centre[0]}/{centre[1]}"
    body = [f'<text x="10" y="20" fill="#202124" font-weight="bold">{text(cut("neighbourhood of " + label, 90))}</text>']
    body += [_arrow(at[u], at[v], f"{u[0]}/{u[1]} → {v[0]}/{v[1]} (score {d.get('score', 0):.2f})") for u, v, d in sub.edges(data=True)]
    for node in sub.nodes:
        body.append(_node(at[node][0], at[node][1], at[node][2], node[0], node[1], state="centre" if node == centre else None,
                          href=link(node) if link and node != centre else None))
    if not near:
        body.append(f'<text x="{half:.0f}" y="{half + BOX_H:.0f}" text-anchor="middle" fill="#5f6368">no edges yet</text>')
    return _document(size, size + 20, f"neighbourhood of {label}", body)
