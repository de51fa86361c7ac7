"""The retry policy (:mod:`helpers.batch.retries`): how many attempts each kind of failure gets."""

from __future__ import annotations

import dataclasses

import pytest

from helpers.batch.retries import RetryPolicy
from helpers.pipeline.request import FailureKind

KERNEL = FailureKind.KERNEL_START
DIED = FailureKind.WORKER_DIED


def test_a_kernel_that_fails_to_start_gets_three_attempts_in_all():
    policy = RetryPolicy()
    assert policy.again(KERNEL, [KERNEL])
    assert policy.again(KERNEL, [KERNEL, KERNEL])
    assert not policy.again(KERNEL, [KERNEL, KERNEL, KERNEL])


def test_attempts_are_counted_whatever_ended_the_ones_before():
    # A job the pool took down once, then whose kernel failed twice, has had its three.
    lost = FailureKind.WORKER_LOST
    assert not RetryPolicy().again(KERNEL, [lost, KERNEL, KERNEL])
    assert RetryPolicy().again(lost, [KERNEL, lost])


def test_a_job_whose_worker_died_runs_again_only_as_often_as_the_user_said():
    assert not RetryPolicy().again(DIED, [DIED])
    once = RetryPolicy(worker_retries=1)
    assert once.again(DIED, [DIED])
    assert not once.again(DIED, [DIED, DIED])
    # Only deaths count against --worker-retries.
    assert once.again(DIED, [KERNEL, KERNEL, DIED])


@pytest.mark.parametrize(
    "kind", [FailureKind.NOTEBOOK, FailureKind.CLUSTER, FailureKind.INTERRUPTED, FailureKind.NONE]
)
def test_a_job_that_may_have_run_cells_or_was_stopped_is_never_tried_again(kind):
    assert not RetryPolicy(worker_retries=5).again(kind, [kind])


def test_a_policy_is_one_frozen_record():
    policy = RetryPolicy(worker_retries=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.worker_retries = 3  # type: ignore[misc]
    assert policy == RetryPolicy(worker_retries=2)
