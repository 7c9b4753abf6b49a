"""Replications on a Dask cluster: `--dask tcp://scheduler:8786`, or `--dask local` for a
`LocalCluster` of worker processes on this machine. Dask is optional (`pip install caresim[dask]`)."""
from __future__ import annotations

from typing import Callable

RETRIES = 2


def run_on_dask(task_fn: Callable, tasks: list, address: str, workers: int, done: Callable) -> None:
    """Submit every task, call `done(result)` as each completes; a task whose worker died is
    retried up to RETRIES times, a task that raised re-raises here naming its replication."""
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
    try:
        futures = [client.submit(task_fn, task, pure=False, retries=RETRIES, key=f"replication-{task[2]}-{id(tasks)}")
                   for task in tasks]
        for future in as_completed(futures):
            done(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
