"""The answering chain as LangChain runnables: condense with history -> retrieve -> answer.

Offline (the default) the answer is quoted from the passages. With `STUDYCHAT_LLM` set, a chat
model condenses follow-ups and writes the answer from the same passages; its citations are then
checked (`chat.verify`), and any failure of the model falls back to the offline answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableLambda

from chat.compose import answer_from_passages
from chat.extractive import MARKER, Candidates, candidate_quotes
from chat.fitted import Models, load_models
from chat.llm import (
    UNCITED_NOTE,
    answer_messages,
    build_chat_model,
    condense_messages,
    failure_note,
    redact,
    standalone_question,
    stream_reply,
    whole_reply,
)
from chat.retrieve import Retrieval, retrieve
from chat.spelling import Spelling, read_spelling
from chat.verify import check_answer
from studychat.embedder import Embedder
from studychat.schema import Answer
from studychat.settings import Settings
from studychat.store import Store
from studychat.text import content_words

logger = logging.getLogger(__name__)

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
    standalone: str = ""  # the question rewritten by the language model to stand on its own
    failure: str = ""  # the note to show when the language model already failed on this turn
    spelling: Spelling | None = None  # how the question's misspelt words were read


def said_by(role: str, history: list[dict]) -> list[str]:
    """What `role` ("user" or "assistant") said in the conversation, in order, empty turns left out."""
    return [m["content"] for m in history if m.get("role") == role and m.get("content")]


def condense(question: str, history: list[dict]) -> tuple[str, str]:
    """(search text, context) for a question in a conversation, without a language model.

    A follow-up is searched together with the earlier questions it leans on and the last answer
    (its "it" is often what that answer was about); a question that stands on its own is searched
    alone.
    """
    earlier = said_by("user", history)
    if not earlier:
        return question, ""
    # a question of one content word or none ("How long?", "Why?") leans on the conversation; one
    # that names two things ("How many patients were treated?") can stand alone
    bare = len(content_words(question)) <= 1
    if not (FOLLOW_UP.search(question) or bare):
        return question, ""
    answers = said_by("assistant", history)
    last_answer = MARKER.sub("", answers[-1]) if answers else ""
    context = " ".join([*earlier[-2:], last_answer]).strip()
    return f"{question} {context}", context


class Chain:
    """Answers questions from the store. Build once at start; safe to share between users, since
    every call carries its own history.

    The chat model is built here from the settings (None when `llm` is unset); tests and the app
    may pass one in as `model` instead.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        embedder: Embedder,
        model: BaseChatModel | None = None,
        models: Models | None = None,
    ):
        self.settings = settings
        self.models = models if models is not None else load_models()
        self.store = store
        self.embedder = embedder
        self.model = model if model is not None else build_chat_model(settings)
        offline = self.model is None
        self.runnable = (
            RunnableLambda(self._condense if offline else self._model_condense, name="condense")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(self._answer if offline else self._model_answer, name="answer")
        )

    def answer(self, question: str, history: list[dict] | None = None, document_ids: list[str] | None = None) -> Answer:
        """Answer one question, with the conversation so far as `history` ({"role", "content"} dicts)."""
        return self.runnable.invoke(Query(question, list(history or []), document_ids))

    def stream(
        self, question: str, history: list[dict] | None = None, document_ids: list[str] | None = None
    ) -> Iterator[str | Answer]:
        """Pieces of the answer text as they are ready, then the whole `Answer` last.

        With a language model the pieces are its tokens as they arrive; the final `Answer` is the
        checked one, and its text replaces the streamed text (markers removed, unsupported
        sentences marked, or the offline answer after a failure).
        """
        if self.model is not None:
            yield from self._model_stream(Query(question, list(history or []), document_ids))
            return
        answer = self.answer(question, history, document_ids)
        yield from _pieces(answer.text)
        yield answer

    def candidates(self, question: str, history: list[dict] | None = None) -> Candidates:
        """The candidate quotes the offline answer to `question` is chosen from, as `answer` reads
        them (for fitting the answer model: `python -m eval.fit_answer`)."""
        query, found = self._retrieve(self._condense(Query(question, list(history or []))))
        return candidate_quotes(
            query.question, found.passages, found.query_vectors, self.store, **self._asked(query, found)
        )

    def _asked(self, query: Query, found: Retrieval) -> dict:
        answers = said_by("assistant", query.history)
        return {
            "context": query.context,
            "said": " ".join(answers),
            "last_answer": answers[-1] if answers else "",
            "reserve": found.reserve,
        }

    def _condense(self, query: Query) -> Query:
        """The question's spelling read (`chat.spelling`), then the search text and context."""
        query.spelling = read_spelling(
            query.question, self.store, self.embedder.vocabulary, self.settings.spelling_edits
        )
        query.question = query.spelling.text
        query.search, query.context = condense(query.question, query.history)
        return query

    def _retrieve(self, query: Query) -> tuple[Query, Retrieval]:
        found = retrieve(
            query.search,
            self.store,
            self.embedder,
            self.settings.top_k,
            self.settings.candidates,
            query.document_ids,
            question=query.question,
            ranker=self.models.passage,
        )
        return query, found

    def _answer(self, inputs: tuple[Query, Retrieval]) -> Answer:
        query, found = inputs
        answer = answer_from_passages(
            query.question,
            found.passages,
            found.query_vectors,
            self.store,
            max_quote_chars=self.settings.max_quote_chars,
            models=self.models,
            **self._asked(query, found),
        )
        return _with_spelling(answer, query)

    # The language model's branch

    def _model_condense(self, query: Query) -> Query:
        """The offline condensing (kept for a fallback answer), then, for a turn with history,
        the model's rewrite of the question as the search and the question to answer."""
        query = self._condense(query)
        if not said_by("user", query.history):
            return query
        try:
            reply = whole_reply(self.model, condense_messages(query.question, query.history), self.settings.llm_timeout)
        except Exception as error:  # any client's error: the turn is answered offline
            query.failure = self._failed(error, "condensing")
            return query
        standalone = standalone_question(reply, self.settings.max_question_chars)
        if standalone:
            query.search = query.standalone = standalone
        return query

    def _model_answer(self, inputs: tuple[Query, Retrieval]) -> Answer:
        query, found = inputs
        if query.failure or not found.passages:  # nothing to ask the model about: no call out
            return self._fallback(inputs, query.failure)
        try:
            reply = whole_reply(self.model, self._messages(query, found), self.settings.llm_timeout)
        except Exception as error:
            return self._fallback(inputs, self._failed(error))
        return self._checked(inputs, reply)[0]

    def _model_stream(self, query: Query) -> Iterator[str | Answer]:
        inputs = self._retrieve(self._model_condense(query))
        query, found = inputs
        if query.failure or not found.passages:
            answer = self._model_answer(inputs)
            yield from _pieces(answer.text)
            yield answer
            return
        streamed: list[str] = []
        try:
            for piece in stream_reply(self.model, self._messages(query, found), self.settings.llm_timeout):
                streamed.append(piece)
                yield piece
        except Exception as error:
            answer = self._fallback(inputs, self._failed(error))
            fell_back = True
        else:
            answer, fell_back = self._checked(inputs, "".join(streamed))
        if fell_back:
            if streamed:
                yield "\n\n"
            yield from _pieces(answer.text)
        yield answer

    def _messages(self, query: Query, found: Retrieval) -> list[tuple[str, str]]:
        question = query.standalone or query.question
        return answer_messages(question, found.passages, self.settings.max_answer_sentences)

    def _checked(self, inputs: tuple[Query, Retrieval], reply: str) -> tuple[Answer, bool]:
        """(the checked answer, False), or (the offline answer with a note, True) when the reply
        is empty or cites nothing."""
        query, found = inputs
        if not reply.strip():
            logger.warning("chat model %s returned nothing; answering offline", self.settings.llm)
            return self._fallback(inputs, failure_note(None, self.settings)), True
        answer = check_answer(reply, found.passages, self.embedder, found.query_vectors)
        if answer is None:
            logger.warning("chat model %s cited no passage; answering offline", self.settings.llm)
            return self._fallback(inputs, UNCITED_NOTE), True
        return _with_spelling(answer, query), False

    def _fallback(self, inputs: tuple[Query, Retrieval], note: str) -> Answer:
        """The offline answer, with the one-line note first in its text and its notes."""
        answer = self._answer(inputs)
        if note:
            answer.text = f"{note}\n\n{answer.text}"
            answer.notes.insert(0, note)
        return answer

    def _failed(self, error: Exception, step: str = "answering") -> str:
        """Log a model failure (the API key redacted) and return the note for the user."""
        logger.warning(
            "chat model %s failed while %s: %s: %s",
            self.settings.llm,
            step,
            type(error).__name__,
            redact(str(error), self.settings),
        )
        return failure_note(error, self.settings)


def _with_spelling(answer: Answer, query: Query) -> Answer:
    """The answer, its notes and text ending with how misspelt words were read, if any were."""
    note = query.spelling.note() if query.spelling else ""
    if note:
        answer.text = f"{answer.text}\n\n{note}"
        answer.notes.append(note)
    return answer


def _pieces(text: str) -> Iterator[str]:
    """A finished answer's text in pieces, as the offline stream sends it."""
    for piece in re.split(r"(?<=\]) ", text):
        yield piece + " "
