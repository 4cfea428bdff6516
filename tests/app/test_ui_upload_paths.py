"""The Documents tab's upload handler reads only files inside Gradio's upload folder, symlinks
resolved, even if Gradio's own check of an event's files were skipped (web/guard.py applies both).
The handler is called as Gradio calls it, over a real store and the bundled model."""

from __future__ import annotations

import pytest

from studychat.settings import Settings
from web.services import Services
from web.ui import build_ui

pytestmark = pytest.mark.slow


@pytest.fixture
def upload(tmp_path, embedder, monkeypatch):
    """The upload event's function of a fresh UI on an open server, with its upload folder in tmp."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    (tmp_path / "uploads").mkdir()
    (tmp_path / "corpus").mkdir()
    settings = Settings(corpus=tmp_path / "corpus", db=tmp_path / "db", host="127.0.0.1", _env_file=None)
    services = Services.start(settings, embedder=embedder, say=lambda _: None)
    demo = build_ui(services)
    handler = next(f.fn for f in demo.fns.values() if f.name == "upload")
    yield lambda paths: handler(paths, ""), services
    services.close()


def test_only_files_in_the_upload_folder_are_indexed(upload, tmp_path):
    handler, services = upload
    secret = tmp_path / "secret-notes.txt"
    secret.write_text("The vault code is 4711.\n")
    (tmp_path / "uploads" / "link.txt").symlink_to(secret)
    for path in (secret, tmp_path / "uploads" / "../secret-notes.txt", tmp_path / "uploads" / "link.txt"):
        results, _, _ = handler([str(path)])
        assert "refused" in results and "not a file uploaded through this page" in results
    assert services.store.documents() == []

    uploaded = tmp_path / "uploads" / "abc" / "heron-notes.txt"
    uploaded.parent.mkdir()
    uploaded.write_text("Heron notes\n\nThe heron study counted forty herons along the river.\n")
    results, _, _ = handler([str(uploaded)])
    assert "added" in results
    assert [d.id for d in services.store.documents()] == ["heron-notes.txt"]
