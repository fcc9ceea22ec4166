"""Back-test: run the whole engine over a trace on a simulated clock, sending nothing (DESIGN §5).

Reading the trace and feeding it (`run`), the engine's runtime for it (`runtime`), the scheduler's beat
in simulated time (`ticker`) and the notices it writes (`output`).
"""

from engine.replay.output import ReplaySummary
from engine.replay.run import read_trace, replay

__all__ = ["ReplaySummary", "read_trace", "replay"]
