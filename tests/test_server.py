"""urbansound/flows/server.py: the Prefect API a run uses, outside any test harness."""


def test_a_temporary_server_prints_no_links_that_die_with_it(monkeypatch):
    import os
    import uuid

    from prefect.settings import PREFECT_API_URL
    from prefect.utilities.urls import url_for

    from urbansound.flows.server import prefect_api

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    assert not PREFECT_API_URL.value(), "a Prefect test harness is active: this test needs none"
    with prefect_api() as api:
        assert api.startswith("http://127.0.0.1:")
        assert url_for("flow-run", obj_id=uuid.uuid4()) is None  # Prefect logs "View at <url>" only for a URL
        assert os.environ["PREFECT_UI_URL"] == ""  # the workers inherit it
    assert "PREFECT_UI_URL" not in os.environ and "PREFECT_API_URL" not in os.environ
