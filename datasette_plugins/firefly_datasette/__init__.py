"""firefly's Datasette plugin, registered through the ``datasette`` entry point
(``pyproject.toml``), so that ``datasette some.db`` shows it once firefly is installed.

One hook per concern, each in its own module:

* :mod:`.metadata`: ``get_metadata`` (titles, descriptions, column descriptions, default
  facets, sort orders) and ``canned_queries`` (tasks per server, rejection reasons, tool
  coverage, schema drift ...);
* :mod:`.pages`: ``register_routes`` (exploration and task pages, DAG and tool pictures,
  drawn by :mod:`.pictures`);
* :mod:`.cells`: ``render_cell`` (links from ids and tool names to those pages).

``templates/`` holds the pages' templates (Datasette finds it beside this module).
"""

from .cells import render_cell
from .metadata import canned_queries, get_metadata
from .pages import register_routes

__all__ = ["canned_queries", "get_metadata", "register_routes", "render_cell"]
