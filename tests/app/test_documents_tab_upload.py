"""The Documents tab in Debian Chromium while an upload runs: the button waits for it, one progress
bar shows where the results appear, a file chosen meanwhile is kept (and said to be) for the next
upload, and an upload of a good and a bad file says what happened to each."""

from __future__ import annotations

import httpx
import pytest

from tests.documents import encrypted_pdf

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

LATE = "Late heron note\n\nThe late note says that forty-two grey herons nested by the river.\n"


def open_documents_tab(page, live) -> None:
    """The Documents tab, unlocked with the admin token (the file picker shows once it is)."""
    page.goto(live.url)
    page.get_by_role("tab", name="Documents").click()
    page.locator("#admin-token input").fill(live.token)
    page.locator("#unlock").click()
    page.locator("#upload-results .sc-unlocked").wait_for()


def test_a_file_chosen_during_an_upload_is_kept_for_the_next(covidqa_papers, page, live, tmp_path):
    papers = sorted(covidqa_papers.glob("*.txt"))[:2]  # about 200 chunks: seconds of embedding
    late = tmp_path / "late-heron-note.txt"
    late.write_text(LATE)
    open_documents_tab(page, live)
    try:
        page.locator("#upload input[type=file]").set_input_files([str(p) for p in papers])
        page.locator("#upload-button").click()
        expect(page.locator("#upload-button")).to_be_disabled()
        expect(page.locator("#replace input[type=checkbox]")).to_be_disabled()
        page.locator("#upload-results .progress-level").wait_for()  # the upload's progress has come
        # One progress bar, in the results' place: none over the list or the "Document to delete" field.
        assert page.locator(".progress-text:visible").count() == 1
        assert page.locator(".progress-level:visible").count() == 1

        page.locator("#upload input[type=file]").set_input_files(str(late))  # while the papers are embedded
        # The picker writes a file's stem and extension apart ("late-heron-note .txt").
        expect(page.locator("#upload")).to_contain_text(late.stem)
        page.locator("#upload-results .sc-added").first.wait_for(timeout=300_000)
        assert page.locator("#upload-results .sc-added").count() == len(papers)
        assert late.name not in page.locator("#upload-results").inner_text()

        # The papers leave the picker; the late file stays in it, and a note says it is not added yet.
        expect(page.locator("#upload-button")).to_be_enabled()
        expect(page.locator(".toast-body")).to_contain_text(f"Not added yet, chosen while the upload ran: {late.name}")
        picker = page.locator("#upload").inner_text()
        assert late.stem in picker and papers[0].stem not in picker, picker

        page.locator("#upload-button").click()
        page.locator("#upload-results .sc-added", has_text="Late heron note").wait_for(timeout=60_000)
        ids = {d["id"] for d in httpx.get(f"{live.url}/api/documents").json()["documents"]}
        assert {late.name, *(p.name for p in papers)} <= ids
    finally:
        for name in [late.name, *(p.name for p in papers)]:
            httpx.delete(f"{live.url}/api/documents/{name}", headers=live.auth)


def test_a_good_and_a_bad_file_each_say_what_happened(page, live, tmp_path):
    good = tmp_path / "kestrel-note.txt"
    good.write_text("Kestrel note\n\nNine kestrels hunted over the meadow in May.\n")
    bad = tmp_path / "locked-report.pdf"
    bad.write_bytes(encrypted_pdf("hunter2"))
    open_documents_tab(page, live)
    try:
        page.locator("#upload input[type=file]").set_input_files([str(good), str(bad)])
        page.locator("#upload-button").click()
        expect(page.locator("#upload-results .sc-added")).to_contain_text("Kestrel note", timeout=60_000)
        expect(page.locator("#upload-results .sc-skipped")).to_contain_text(f"{bad.name}: PDF is encrypted")
        expect(page.locator("#documents")).to_contain_text("Kestrel note")
        assert not (live.settings.corpus / bad.name).exists()
    finally:
        httpx.delete(f"{live.url}/api/documents/{good.name}", headers=live.auth)
