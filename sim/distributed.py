"""Replications on a Dask cluster: `--dask tcp://scheduler:8786`, or `--dask local` for a
`LocalCluster` of worker processes on this machine. Dask is optional (`pip install caresim[dask]`).

What a Dask run costs on top of local processes: loading Dask and starting the cluster, about
half a second on 2 cores; closing it, a few hundredths; the event loops of the scheduler and
the workers, which wake on timers of their own; and moving each replication's result to this
process (with records kept, tens of megabytes of NumPy columns, which Dask sends as raw buffers
beside a small pickle, or through files where the workers share this machine's). The choices
below keep each of those as small as Dask allows.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import uuid
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from distributed import Client

# The Dask configuration of a cluster that runs caresim: that of `--dask local`, and the one
# docs/scaling.md advises for a cluster of one's own.
# - Dask starts workers with MALLOC_TRIM_THRESHOLD_ so low that memory goes back to the system as
#   soon as it is freed; a replication allocates and frees hundreds of MB, and every allocation
#   would fault its pages in afresh (about 8 % slower with records kept).
# - Every Dask server wakes every 20 ms to check that its event loop is not blocked; in a worker
#   each wake-up waits for the interpreter lock and takes it from the replication. Once a
#   second is enough for a warning.
# - Dask's profiler samples every worker's stack a hundred times a second for a dashboard
#   (about 1.5 % of each replication's time).
# - Work stealing and the active memory manager have nothing to do for tasks of equal size
#   whose results are each read once.
# Tick, stealing and memory manager together: about 0.3 s off 20 month-long replications on
# 2 workers.
CLUSTER_SETTINGS = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.work-stealing": False,
    "distributed.scheduler.active-memory-manager.start": False,
}
CONNECT_TIMEOUT = 1.0   # seconds to wait for a worker when checking it can be reached directly
STOP_TIMEOUT = 0.5      # seconds a worker gets to stop after a failure before it is killed


def run_on_dask(task_fn: Callable, tasks: list, address: str, workers: int, done: Callable) -> None:
    """Submit every task, call `done(result)` as each completes.

    A replication that raises is not retried (it would raise again with the same seed) and
    re-raises here naming its replication; a replication whose worker died is rescheduled by the
    Dask scheduler itself (its `allowed-failures` setting, 3 by default). Workers that share this
    process's files (those of a `LocalCluster`, or of any cluster on this machine or on a shared
    file system) hand their records back through files, as local processes do (`sim.spool`)."""
    from .spool import through_files

    with through_files(task_fn, done) as spool:
        _run(task_fn, spool, tasks, address, workers, done)


def _run(task_fn: Callable, spool, tasks: list, address: str, workers: int, done: Callable) -> None:
    from .arrivals.source import RunawayArrivals
    from .runner import ReplicationFailed

    forked = address == "local" and _start_fork_server(task_fn.__module__)
    try:
        import dask
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - depends on the environment
        raise RuntimeError("--dask needs the 'distributed' package: pip install 'caresim[dask]'") from None
    if address == "local":
        # Each worker imports the task's module while it starts, before it joins the scheduler,
        # rather than on its first task. Results come straight from the workers, which are on
        # this machine, rather than through the scheduler: one hop fewer.
        settings = dict(CLUSTER_SETTINGS)
        if forked:
            # forked from a server process rather than spawned: each worker then skips starting
            # an interpreter of its own (about 0.3 s off a 2-worker cluster's start on 2 cores)
            settings["distributed.worker.multiprocessing-method"] = "forkserver"
        with dask.config.set(settings):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, preload=[task_fn.__module__])
        client = Client(cluster, direct_to_workers=True)
    else:
        cluster = None
        try:
            client = Client(address)
        except ValueError as exc:   # not an address Dask reads: no port, an unknown protocol
            raise RuntimeError(f"not a Dask scheduler address ({exc})") from None
        if client.direct_to_workers is None:   # not set in the Dask configuration
            client.direct_to_workers = _workers_answer(client)
    if cluster is not None or _workers_share_files(client, spool.folder):
        task_fn, done = spool.task_fn, spool.done
    run_id = uuid.uuid4().hex[:12]
    failed = True
    try:
        index_of = {f"replication-{task[2]}-{run_id}": task[2] for task in tasks}
        pending = as_completed([client.submit(task_fn, task, pure=False, key=key)
                                for key, task in zip(index_of, tasks)])
        # Only `pending` holds a future until it completes and `future` until the next one does,
        # so each result is freed on its worker once it is here.
        for future in pending:
            try:
                result = future.result()
            except (ReplicationFailed, RunawayArrivals):
                raise
            except Exception as exc:   # e.g. a worker killed more often than allowed
                raise ReplicationFailed(f"replication {index_of[future.key]} failed on the cluster ({exc!r}); "
                                        "rerun it alone with the same seed") from exc
            done(result)
        failed = False
    finally:
        client.close()
        if cluster is not None:
            try:
                if failed:   # a replication still running would hold its worker's exit for seconds
                    cluster.sync(_stop_workers, list(cluster.workers.values()))
            finally:
                cluster.close()


def _start_fork_server(module: str) -> bool:
    """Start the server the workers are forked from, with Dask and `module` loaded in it, before
    this process loads Dask itself: the two loads then share the machine's cores (about 0.1 s
    off the cluster's start on 2 cores). Dask would start it later, loading Dask alone, and
    each worker would then load `module` itself. A server already running is left as it is.
    False where the system has no fork server (or Dask is missing)."""
    import importlib.util
    from multiprocessing import forkserver

    if "forkserver" not in multiprocessing.get_all_start_methods() or importlib.util.find_spec("distributed") is None:
        return False
    forkserver.set_forkserver_preload(["distributed", module])
    forkserver.ensure_running()
    return True


async def _stop_workers(workers: list) -> None:
    await asyncio.gather(*(worker.close(timeout=STOP_TIMEOUT) for worker in workers))


def _workers_share_files(client: Client, folder: str) -> bool:
    """Whether every worker reads the files this process writes in `folder`: a token written
    here is read back by each of them (a worker elsewhere, or that cannot answer, says no)."""
    token = uuid.uuid4().hex
    marker = os.path.join(folder, "marker")
    with open(marker, "w", encoding="utf-8") as f:
        f.write(token)
    try:
        seen = client.run(_read_marker, marker)
    except Exception:   # noqa: BLE001 - any failure only means: send records the usual way
        return False
    finally:
        os.remove(marker)
    return bool(seen) and all(value == token for value in seen.values())


def _read_marker(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def _workers_answer(client: Client) -> bool:
    """Whether every worker of the cluster accepts a connection from this process (tried all at
    once, for at most `CONNECT_TIMEOUT`), so results can come straight from the workers. Dask's
    default, through the scheduler, also works when workers are out of reach (behind a firewall,
    on the far side of a tunnel)."""
    from distributed.comm import connect

    async def answers(worker: str) -> bool:
        try:
            comm = await connect(worker, timeout=CONNECT_TIMEOUT, **client.connection_args)
        except (OSError, TimeoutError):
            return False
        await comm.close()
        return True

    async def every(workers: list[str]) -> bool:
        return bool(workers) and all(await asyncio.gather(*(answers(w) for w in workers)))

    return client.sync(every, list(client.scheduler_info()["workers"]))
