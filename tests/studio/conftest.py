"""A studio started on a free port for the studio's tests (in this process, so its code is measured), with
its own runs and work folders and small upload limits."""

from __future__ import annotations

import socket

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def studio(tmp_path_factory):
    """(settings, a gradio_client Client, the URL) of a running studio."""
    from gradio_client import Client

    from tunesmith.studio import StudioSettings, serve

    root = tmp_path_factory.mktemp("studio")
    settings = StudioSettings(port=free_port(), runs=root / "runs", work=root / "work", upload_mb=0.25,
                              upload_files=20, train_minutes=5)
    demo = serve(settings, block=False)
    url = f"http://127.0.0.1:{settings.port}/"
    yield settings, Client(url, verbose=False), url
    demo.close()
