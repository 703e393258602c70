"""Search over reasoning states, in three parts (so one problem runs under any algorithm):

* a **world model** (``init_state``, ``step``, ``is_terminal``): what a state is and how an action changes it;
* a **search config** (``propose``, ``evaluate``, ``reward``, ``reflect``): where the model comes in;
* an **algorithm** (``BFS``, ``DFS``, ``Beam``, ``MCTS``): which states to expand and which to drop.

``build_search(task, algorithm)`` turns the three into a LangGraph graph whose expansions run as parallel
``Send`` branches.
"""

from agentkit.workflows.search.algorithms import BFS, DFS, MCTS, Algorithm, Beam, make_algorithm
from agentkit.workflows.search.base import Evaluation, InvalidAction, Proposals, SearchConfig, WorldModel
from agentkit.workflows.search.graph import build_search

__all__ = [
    "BFS", "DFS", "MCTS", "Algorithm", "Beam", "Evaluation", "InvalidAction", "Proposals", "SearchConfig",
    "WorldModel", "build_search", "make_algorithm",
]
