import pytest

from agentkit.errors import UserError
from agentkit.experiments.executors import LocalExecutor, RayExecutor, _reachable, _thread_options, get_executor


def test_executors_by_name_and_what_each_refuses():
    assert isinstance(get_executor("local"), LocalExecutor) and isinstance(get_executor("ray"), RayExecutor)
    assert get_executor("ray", address="10.0.0.1:6379").address == "10.0.0.1:6379"
    with pytest.raises(UserError, match="local, ray"):
        get_executor("dask")
    with pytest.raises(UserError, match="--executor ray"):
        get_executor("local", address="10.0.0.1:6379")


def test_an_embedded_model_on_a_worker_gets_the_workers_threads_unless_its_spec_sets_them():
    assert _thread_options("qwen-0.5b", 1) == {"n_threads": 1}
    assert _thread_options("llamacpp:/m.gguf?n_threads=3", 1) == {}
    assert _thread_options("openai:http://127.0.0.1:8000/v1#m", 1) == {}
    assert _thread_options("scripted:hi", 1) == {}


def test_an_address_is_checked_before_ray_waits_on_it():
    assert not _reachable("127.0.0.1:9", timeout=1)  # the discard port: nothing listens
    assert _reachable("auto") and _reachable("ray://head:10001")
