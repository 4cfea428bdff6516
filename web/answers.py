"""An answer as users get it: the JSON of `POST /api/ask`, which the stream's `answer` event, the
Gradio chat and the widget show too, so that the three outcomes (stated, tentative, declined) read
the same everywhere."""

from __future__ import annotations

from studychat.schema import TENTATIVE, Answer


def shown_text(answer: Answer) -> str:
    """The answer's text as shown: a tentative answer always opens with the `TENTATIVE` words (the
    answerer writes them; they are added here if it did not), so that it never reads as a plain one."""
    if answer.tentative and TENTATIVE not in answer.text:
        return f"{TENTATIVE} {answer.text.lstrip()}"
    return answer.text


def answer_json(answer: Answer, searched: dict) -> dict:
    """`answer` as the API returns it, with the documents it `searched` (`web.scope.searched`)."""
    return {**answer.to_dict(), "answer": shown_text(answer), "searched": searched}
