"""Cluster: the optional Dask side (``pip install mfwidgets[dask]``), imported only on demand.

Mirrors: nothing in the kernel. ``dask_client(x)`` accepts a ``distributed.Client`` (used as
is), a scheduler address (connected, then closed), or "local"/True (a LocalCluster of
LOCAL_WORKERS single-threaded worker processes, started and shut down around the call).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

LOCAL_WORKERS = 2


def local_cluster(n_workers: int = LOCAL_WORKERS) -> Any:
    """A LocalCluster of ``n_workers`` single-threaded processes, quiet, no dashboard."""
    from distributed import LocalCluster

    return LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
    )


@contextlib.contextmanager
def dask_client(client: Any) -> Iterator[Any]:
    """Yield a usable Client for ``client`` (see the module docstring); clean up what we made.
    Raises ImportError with the install hint when distributed is missing."""
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Dask is optional: pip install 'mfwidgets[dask]'") from exc
    if isinstance(client, Client):
        yield client
        return
    if client is True or client == "local":
        with local_cluster() as cluster, Client(cluster) as c:  # type: ignore[no-untyped-call]
            yield c
        return
    if isinstance(client, str):
        with Client(client) as c:  # type: ignore[no-untyped-call]
            yield c
        return
    raise TypeError(f"client must be a distributed.Client, an address or 'local', not {client!r}")
