"""Executors run every task once and give its result whatever runs it; bad set-ups are
one-line errors."""

import builtins
import os

import pytest

from simulator.executors import (
    EXECUTORS,
    ExecutorError,
    LocalExecutor,
    ProcessExecutor,
    make_executor,
)


def square(task, progress=None):
    if task < 0:
        raise ValueError(f"task {task} is negative")
    return task * task


def test_local_runs_in_order():
    assert list(LocalExecutor().run(square, [3, 1, 2])) == [9, 1, 4]


def test_processes_give_every_result_and_progress():
    seen = []
    results = ProcessExecutor(2).run(square, list(range(6)), progress=seen.append)
    assert sorted(results) == [0, 1, 4, 9, 16, 25]
    assert seen == [0] * 6  # plain ints have no step count


def test_a_failing_task_raises_its_error_in_the_caller():
    with pytest.raises(ValueError, match="task -1 is negative"):
        list(ProcessExecutor(2).run(square, [1, -1, 2]))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("threads",), r"unknown executor 'threads': use one of \['local', 'processes', 'ray'\]"),
        (("processes", 0), "--workers must be >= 1, got 0"),
        (("local", 2), "--workers 2 needs --executor processes or ray"),
        (("processes", 2, "auto"), "--ray-address needs --executor ray, not processes"),
        (("processes", 2, None, 0), "--cpus-per-worker must be >= 1, got 0"),
        (("local", 1, None, 2), "--cpus-per-worker needs --executor processes or ray"),
    ],
)
def test_make_executor_refuses(args, message):
    with pytest.raises(ExecutorError, match=message):
        make_executor(*args)


def test_ray_missing_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ExecutorError, match=r"pip install -e '\.\[ray\]'"):
        make_executor("ray", 2)


def test_every_executor_is_built_by_name():
    assert isinstance(make_executor("local"), EXECUTORS["local"])
    assert make_executor("processes", 3).workers == 3


def test_ray_runs_tasks_on_local_workers():
    pytest.importorskip("ray")
    assert sorted(make_executor("ray", 2).run(square, [1, 2, 3])) == [1, 4, 9]


def test_workers_share_this_machines_cores_unless_told():
    cores = os.cpu_count() or 1
    assert LocalExecutor().threads is None  # this process keeps its torch threads
    assert make_executor("processes", 1).threads == cores
    assert make_executor("processes", 2 * cores).threads == 1
    assert make_executor("processes", 2, cpus_per_worker=3).threads == 3


def test_ray_on_a_cluster_asks_one_cpu_per_task_by_default():
    pytest.importorskip("ray")
    # Nothing is started: the default does not depend on this machine's cores.
    assert make_executor("ray", 4, "auto").threads == 1
    assert make_executor("ray", 4, "auto", 2).threads == 2


def assigned_cpus(task, progress=None):
    import ray

    return ray.get_runtime_context().get_assigned_resources().get("CPU")


def test_a_ray_task_is_given_the_cpus_it_runs_threads_for():
    pytest.importorskip("ray")
    executor = make_executor("ray", 1, cpus_per_worker=2)
    assert list(executor.run(assigned_cpus, [0, 1])) == [2.0, 2.0]
