"""LatestJob: a view's background computation, where only the latest request matters."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from nnstudio.gui.panels.latest_job import BACKGROUND_NICE, CPU_SECONDS, LatestJob


def _own_nice():
    yield None
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_a_coalesced_job_runs_below_the_windows_priority(qtbot):
    """During a run (coalesced requests) a view's job gives the CPU to the training thread and the
    window first; a job the user asked for (plain request) runs at their priority."""
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    job = LatestJob("nice test", nice=BACKGROUND_NICE)
    with qtbot.waitSignal(job.returned, timeout=5_000) as plain:
        job.request(_own_nice)
    qtbot.waitUntil(lambda: not job.busy)
    with qtbot.waitSignal(job.returned, timeout=5_000) as coalesced:
        job.request(_own_nice, coalesce=True)
    qtbot.waitUntil(lambda: not job.busy)
    assert job.wait()
    assert plain.args == [mine]
    assert coalesced.args == [min(19, mine + BACKGROUND_NICE)]
    assert CPU_SECONDS["nice test"] >= 0.0


def _waiting():
    yield None
    threading.Event().wait(0.3)  # waits, as a low-priority job waits for a busy CPU, and takes no CPU
    return "done"


def test_the_rest_between_coalesced_jobs_follows_their_cpu_not_their_wait(qtbot):
    """A job that took little CPU (it waited for a busy machine) does not make the next epoch's request
    wait: the duty cycle limits the CPU the jobs take, not how often a view is refreshed."""
    job = LatestJob("duty test", duty=0.05)
    with qtbot.waitSignal(job.returned, timeout=5_000):
        job.request(_waiting, coalesce=True)
    qtbot.waitUntil(lambda: not job.busy)
    job.request(_waiting, coalesce=True)
    # It rests 19 times the few milliseconds of CPU the last job took; after its 0.3 s of wall time
    # it would rest 5.7 s.
    qtbot.waitUntil(lambda: job.running, timeout=2_000)
    assert job.wait()
