"""Replications on a Dask cluster: `--dask tcp://scheduler:8786`, or `--dask local` for a
`LocalCluster` of worker processes on this machine. Dask is optional (`pip install caresim[dask]`)."""
from __future__ import annotations

import uuid
from typing import Callable


def run_on_dask(task_fn: Callable, tasks: list, address: str, workers: int, done: Callable) -> None:
    """Submit every task, call `done(result)` as each completes.

    A replication that raises is not retried (it would raise again with the same seed) and
    re-raises here naming its replication; a replication whose worker died is rescheduled by the
    Dask scheduler itself (its `allowed-failures` setting, 3 by default)."""
    from .arrivals.source import RunawayArrivals
    from .runner import ReplicationFailed

    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - depends on the environment
        raise RuntimeError("--dask needs the 'distributed' package: pip install 'caresim[dask]'") from None
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        cluster, client = None, Client(address)
    run_id = uuid.uuid4().hex[:12]
    try:
        futures = [client.submit(task_fn, task, pure=False, key=f"replication-{task[2]}-{run_id}")
                   for task in tasks]
        for future in as_completed(futures):
            try:
                result = future.result()
            except (ReplicationFailed, RunawayArrivals):
                raise
            except Exception as exc:   # e.g. a worker killed more often than allowed
                raise ReplicationFailed(f"{future.key} failed on the cluster: {exc!r}") from exc
            done(result)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
