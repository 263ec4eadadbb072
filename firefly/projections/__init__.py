"""Every projection firefly maintains, in the order they are applied."""

from __future__ import annotations

from .base import Projection


def all_projections() -> list[Projection]:
    from .discovery import ServersProjection, ToolsProjection
    from .evaluation import EvaluationProjection
    from .exploration import ExplorationsProjection
    from .graph import DagsProjection, EmbeddingsProjection, GraphErrorsProjection, GraphProjection, LlmExchangesProjection
    from .runs import ErrorsProjection, RunsProjection
    from .simulator import SimulatorProjection
    from .tasks import TasksProjection

    return [
        RunsProjection(), ErrorsProjection(), ServersProjection(), ToolsProjection(),
        LlmExchangesProjection(), EmbeddingsProjection(), GraphProjection(), DagsProjection(), GraphErrorsProjection(),
        ExplorationsProjection(), SimulatorProjection(), TasksProjection(), EvaluationProjection(),
    ]


__all__ = ["Projection", "all_projections"]
