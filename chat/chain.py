"""The answering chain as LangChain runnables: condense with history -> retrieve -> answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from langchain_core.runnables import RunnableLambda

from chat.extractive import answer_from_passages
from chat.retrieve import Retrieval, retrieve
from studychat.embedder import Embedder
from studychat.schema import Answer
from studychat.settings import Settings
from studychat.store import Store
from studychat.text import content_words

# A question that leans on the conversation: "What side effects did *they* have?", "And the dose?"
FOLLOW_UP = re.compile(
    r"\b(they|them|their|theirs|it|its|this|that|these|those|he|she|his|her|him|there|the same|such)\b"
    r"|^\s*(and|but|also|what about|how about|so)\b",
    re.IGNORECASE,
)


@dataclass
class Query:
    """One turn: the question as asked, what to search for, and the conversation's subject."""

    question: str
    history: list[dict] = field(default_factory=list)
    document_ids: list[str] | None = None
    search: str = ""
    context: str = ""


def condense(question: str, history: list[dict]) -> tuple[str, str]:
    """(search text, context) for a question in a conversation, without a language model.

    A follow-up is searched together with the earlier questions it leans on; a question that
    stands on its own is searched alone.
    """
    earlier = [m["content"] for m in history if m.get("role") == "user" and m.get("content")]
    if not earlier:
        return question, ""
    short = len(content_words(question)) <= 2
    if not (FOLLOW_UP.search(question) or short):
        return question, ""
    context = " ".join(earlier[-2:])
    return f"{question} {context}", context


class Chain:
    """Answers questions from the store. Build once at start; safe to share between users, since
    every call carries its own history."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.runnable = (
            RunnableLambda(self._condense, name="condense")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(self._answer, name="answer")
        )

    def answer(self, question: str, history: list[dict] | None = None, document_ids: list[str] | None = None) -> Answer:
        """Answer one question, with the conversation so far as `history` ({"role", "content"} dicts)."""
        return self.runnable.invoke(Query(question, list(history or []), document_ids))

    def stream(
        self, question: str, history: list[dict] | None = None, document_ids: list[str] | None = None
    ) -> Iterator[str | Answer]:
        """Pieces of the answer text as they are ready, then the whole `Answer` last."""
        answer = self.answer(question, history, document_ids)
        for piece in re.split(r"(?<=\]) ", answer.text):
            yield piece + " "
        yield answer

    def _condense(self, query: Query) -> Query:
        query.search, query.context = condense(query.question, query.history)
        return query

    def _retrieve(self, query: Query) -> tuple[Query, Retrieval]:
        found = retrieve(
            query.search, self.store, self.embedder, self.settings.top_k, self.settings.candidates, query.document_ids
        )
        return query, found

    def _answer(self, inputs: tuple[Query, Retrieval]) -> Answer:
        query, found = inputs
        vector = found.query_vector
        if query.context:  # score sentences against the question as asked, not the padded search
            vector = self.embedder.encode([query.question])[0]
        return answer_from_passages(
            query.question,
            found.passages,
            vector,
            self.embedder,
            self.store,
            threshold=self.settings.refusal_threshold,
            max_sentences=self.settings.max_answer_sentences,
            context=query.context,
        )
