import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/builders.py

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture(scope="session", autouse=True)
def _no_project_folders(tmp_path_factory):
    """Nothing in a test reads or writes the project's own raw/ and reports/ by default, and
    flow runs leave out the PDF (5 s each) unless a test asks for it."""
    root = tmp_path_factory.mktemp("settings")
    saved = {k: os.environ.get(k) for k in ("THONGKE_RAW_DIR", "THONGKE_REPORTS_DIR", "THONGKE_PDF")}
    os.environ["THONGKE_RAW_DIR"] = str(root / "raw")
    os.environ["THONGKE_REPORTS_DIR"] = str(root / "reports")
    os.environ["THONGKE_PDF"] = "0"  # flow runs skip the PDF; test_flow and test_pdf make one
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def prefect_harness():
    """One real Prefect engine (temporary server and database) for every flow test."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def catalogue():
    from schemas.catalogue import load_catalogue

    return load_catalogue()


@pytest.fixture(scope="session")
def registry():
    from schemas.units import load_registry

    return load_registry()
