"""Test-wide guards: no network, a temporary data home, Agg plots, fixed seeds."""

from __future__ import annotations

import os
import random
import socket

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import pytest

_LOOPBACK = ("127.", "::1", "localhost")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkAccessError(RuntimeError):
    """Raised when a test tries to reach a host other than this machine."""


def _host_of(address) -> str | None:
    if isinstance(address, tuple) and address:
        return str(address[0])
    return None  # AF_UNIX paths and the like


def _check(address) -> None:
    host = _host_of(address)
    if host is not None and not host.startswith(_LOOPBACK):
        raise NetworkAccessError(f"tests must not use the network (tried to reach {address!r})")


def _guarded_connect(self, address):
    _check(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if (
        host is not None
        and not str(host).startswith(_LOOPBACK)
        and str(host) not in ("", "0.0.0.0")
    ):
        raise NetworkAccessError(
            f"tests must not use the network: resolving remote hosts is blocked (tried {host!r})"
        )
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True, scope="session")
def _data_home(tmp_path_factory):
    """Point the writable data home at a temporary folder for the whole session."""
    home = tmp_path_factory.mktemp("analysis_lib_data")
    old = os.environ.get("ANALYSIS_LIB_DATA")
    os.environ["ANALYSIS_LIB_DATA"] = str(home)
    yield home
    if old is None:
        os.environ.pop("ANALYSIS_LIB_DATA", None)
    else:
        os.environ["ANALYSIS_LIB_DATA"] = old


@pytest.fixture(autouse=True)
def _seeds():
    """Fix every random seed before each test."""
    random.seed(0)
    np.random.seed(0)  # noqa: NPY002 - legacy global state used by third-party code
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.manual_seed(0)


@pytest.fixture
def rng():
    """A seeded NumPy generator."""
    return np.random.default_rng(0)
