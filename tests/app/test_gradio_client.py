"""The chat through `gradio_client`, as a Python program would use it."""

from __future__ import annotations

import pytest
from gradio_client import Client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(live) -> Client:
    return Client(live.url, verbose=False)


def test_ask_is_a_named_endpoint(client: Client):
    assert "/ask" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]


def test_ask_answers_with_citations(client: Client):
    answer = client.predict("What side effects did the patients have?", [], api_name="/ask")
    assert answer["refused"] is False
    assert "fever" in answer["answer"]
    assert any("fever" in c["quote"] for c in answer["citations"])


def test_ask_follows_the_conversation(client: Client):
    history = [
        {"role": "user", "content": "How were the lupus patients treated?"},
        {"role": "assistant", "content": "With CAR-T cells [1]"},
    ]
    answer = client.predict("What side effects did they have?", history, api_name="/ask")
    assert not answer["refused"] and "side effects" in answer["answer"]
    assert "fever" in answer["answer"] or answer["tentative"], answer["answer"]


def test_empty_question_is_an_error_not_a_traceback(client: Client):
    with pytest.raises(Exception) as raised:
        client.predict("   ", [], api_name="/ask")
    assert "1 to 2000 characters" in str(raised.value)
    assert "Traceback" not in str(raised.value)
