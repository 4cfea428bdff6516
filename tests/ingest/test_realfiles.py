"""Every public real file of `../shared/realfiles/` gets what its README expects: ingested with
its facts in the stored text (each answerable through the chain), or skipped with its reason."""

from __future__ import annotations

import pytest

from tests.ingest.realfiles import EXPECTED, FOLDER, run, table


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, embedder):
    if not FOLDER.is_dir():
        pytest.skip(f"the real files are not at {FOLDER}")
    return {o.expected.name: o for o in run(tmp_path_factory.mktemp("realfiles"), embedder)}


@pytest.mark.slow
@pytest.mark.parametrize("name", [e.name for e in EXPECTED])
def test_real_file(outcomes, name):
    outcome = outcomes[name]
    assert outcome.ok, table([outcome])
