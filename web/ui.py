"""The Gradio UI: the chat with its sources panel, and the Documents tab."""

from __future__ import annotations

from html import escape
from pathlib import Path

import gradio as gr

from ingest.load import SUPPORTED
from ingest.pipeline import add_uploads
from studychat.schema import Answer
from studychat.store import StoreError
from web import render
from web.answers import answer_json
from web.guard import UNLOCK_PATH, uploaded_here
from web.scope import UnknownDocuments, searched
from web.services import (
    Services,
    access_note,
    change_policy,
    log,
    refuse_change,
    remove_document,
    user_message,
)

EXAMPLES = [
    "What side effects did the patients have?",
    "How many patients were enrolled in the trial?",
    "How long were the patients followed up without recurrence?",
    "Who published the clinical research paper?",
]
UPLOAD_TYPES = sorted(SUPPORTED)
# Gradio's copies of uploaded files are deleted hourly once an hour old (and all at shutdown):
# by then they are indexed, or abandoned.
DELETE_CACHE = (3600, 3600)
NOT_TEXT = "holds a character that is not valid text (a lone surrogate such as \\ud800); retype it and ask again."
NOT_UPLOADED = "not a file uploaded through this page"
WEB = Path(__file__).resolve().parent
REPLACE_LABEL = "Replace documents with the same name"

# [n] markers are links; this opens the answer's sources and brings the cited passage into view.
HEAD = """<script>
document.addEventListener("click", function (event) {
  var link = event.target.closest ? event.target.closest("a.cite") : null;
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  var target = document.getElementById(link.getAttribute("href").slice(1));
  if (!target) return;
  var card = target.closest(".sc-source") || target;  // a passage cited twice: one card, its quotes anchored
  var turn = card.closest("details");
  if (turn) turn.open = true;
  var at = card.querySelector('[data-cite="' + target.id + '"]');  // the number's own quote
  ((at && at.nextElementSibling) || card).scrollIntoView({behavior: "smooth", block: "center"});
  card.classList.remove("sc-flash"); void card.offsetWidth; card.classList.add("sc-flash");
}, true);
</script>"""


# Asks for the cookie that lets this browser use Gradio's upload route (web/guard.py) before the
# server shows the file picker; the cookie is HttpOnly, so the page never holds it.
UNLOCK_JS = f"""async (token) => {{
  await fetch("{UNLOCK_PATH.lstrip("/")}", {{method: "POST", credentials: "same-origin",
    headers: {{"Content-Type": "application/json"}}, body: JSON.stringify({{token: token}})}}).catch(() => null);
  return token;
}}"""


def valid_text(text: str) -> str:
    """`text` with what UTF-8 cannot encode (lone surrogates) replaced by "?"."""
    return text.encode("utf-8", "replace").decode("utf-8")


def history_of(turns: list[dict], limit: int) -> list[dict]:
    """The conversation as the chain takes it, from this session's turns, most recent `limit` messages."""
    messages: list[dict] = []
    for turn in turns:
        messages.append({"role": "user", "content": turn["question"]})
        messages.append({"role": "assistant", "content": turn["answer"]["answer"]})
    return messages[-limit:] if limit else []


def picker_choices(records: list) -> list[tuple[str, str]]:
    """(label, id) for each document in the chat's document picker: its title, a long one cut at a
    word with "…" (Gradio's options take no tooltip), with the id when another document has the
    same title."""
    titles = [r.title or r.id for r in records]
    shared = {t for t in titles if titles.count(t) > 1}
    return [
        (render.short_title(t) + (f" ({r.id})" if t in shared else ""), r.id)
        for t, r in zip(titles, records, strict=True)
    ]


def build_ui(services: Services) -> gr.Blocks:
    """The Blocks app. Per-session state is the chat history, a `gr.State` of answered turns and the
    documents chosen in the picker (the component's own value)."""
    settings = services.settings
    policy = change_policy(settings)
    corpus = Path(settings.corpus).resolve()

    def respond(message: str, chat: list[dict], turns: list[dict], chosen: list[str] | None = None):
        """Stream an answer, from the chosen documents (all when none are chosen), into the chat,
        then fill the sources panel. `chat` is the session's displayed messages, kept on the server
        (a gr.State): the Chatbot is only shown, never read back from the browser."""
        message = (message or "").strip()
        chat = list(chat or [])
        turns = list(turns or [])
        if not message:
            yield chat, gr.skip(), turns, "", chat
            return
        chat.append({"role": "user", "content": render.plain(valid_text(message))})
        note, scope = "", None
        if valid_text(message) != message:
            note = f"This question {NOT_TEXT}"
        elif len(message) > settings.max_question_chars:
            note = f"Questions are limited to {settings.max_question_chars} characters; this one has {len(message)}."
        else:
            try:
                scope = searched(services.store, chosen)
            except UnknownDocuments as error:
                note = (
                    f"{len(error.ids)} of the chosen documents are no longer in the index "
                    f"({', '.join(error.ids)}). Choose the documents to search again."
                )
            except StoreError as error:
                note = user_message(error)
        if note:
            chat.append({"role": "assistant", "content": render.plain(note)})
            yield chat, gr.skip(), turns, "", chat
            return
        document_ids = [d["id"] for d in scope["documents"]] or None
        turn = len(turns) + 1
        chat.append({"role": "assistant", "content": "Searching the documents ..."})
        yield chat, gr.skip(), turns, "", chat
        text, answer = "", None
        try:
            for piece in services.chain.stream(message, history_of(turns, settings.max_history_messages), document_ids):
                if isinstance(piece, Answer):
                    answer = piece
                    break
                text += piece
                chat[-1] = {"role": "assistant", "content": render.answer_markdown(text, turn)}
                yield chat, gr.skip(), turns, "", chat
        except Exception as error:  # shown as a sentence, never as a traceback
            chat[-1] = {"role": "assistant", "content": render.plain(user_message(error))}
            yield chat, gr.skip(), turns, "", chat
            return
        if answer is None:
            return
        reply = answer_json(answer, scope)
        turns.append({"question": message, "answer": reply, "searched": scope})
        chat[-1] = {"role": "assistant", "content": render.answer_message(reply, turn)}
        yield chat, render.sources_html(turns), turns, "", chat

    def clear():
        return [], render.sources_html([]), [], "", []

    def ask(question: str, history: list[dict] | None = None, document_ids: list[str] | None = None) -> dict:
        """Answer a question (with the conversation so far as {"role", "content"} messages) from the
        documents with these ids (all when none). Returns the same JSON as POST /api/ask."""
        question = (question or "").strip()
        if valid_text(question) != question:
            raise gr.Error(f"question: {NOT_TEXT}", print_exception=False)
        if not question or len(question) > settings.max_question_chars:
            raise gr.Error(f"The question must have 1 to {settings.max_question_chars} characters.")
        history = [
            {"role": m.get("role"), "content": valid_text(str(m.get("content", "")))}
            for m in (history or [])
            if isinstance(m, dict) and m.get("role") in ("user", "assistant")
        ][-settings.max_history_messages :]
        try:
            scope = searched(services.store, document_ids)
            return answer_json(services.chain.answer(question, history, document_ids or None), scope)
        except UnknownDocuments as error:
            raise gr.Error(f"document_ids: {error}") from None
        except Exception as error:
            raise gr.Error(user_message(error)) from None

    def refresh_picker(chosen: list[str] | None):
        """The picker's choices from the index as it is now, keeping the chosen documents that remain."""
        choices = picker_choices(services.store.documents())
        ids = {value for _, value in choices}
        return gr.update(choices=choices, value=[i for i in (chosen or []) if i in ids])

    def documents_view():
        records = [r.to_dict() for r in services.store.documents()]
        choices = [(f"{render.short_title(r['title'])} ({r['id']})", r["id"]) for r in records]
        return render.documents_html(records), gr.update(choices=choices, value=None)

    def shown(results: list[dict]):
        """The per-file results and the refreshed document list, as the tab's outputs."""
        return render.results_html(results), *documents_view()

    def upload(files: list[str] | None, token: str, replace: bool = False, progress=gr.Progress()):  # noqa: B008 (how Gradio asks for progress)
        reason = refuse_change(settings, token)
        if reason:  # each file named, so that none leaves the picker unsaid
            return shown([{"path": Path(p).name, "status": "refused", "reason": reason} for p in files or [""]])
        if not files:
            return shown([{"path": "", "status": "nothing", "reason": "choose files first"}])
        stray = [path for path in files if not uploaded_here(path)]  # Gradio checks too; a second lock
        if stray:
            return shown([{"path": Path(p).name, "status": "refused", "reason": NOT_UPLOADED} for p in stray])
        # The loader refuses what is over the size limit; the whole upload is embedded together,
        # with the same progress (per file, overall, time left) as `python -m ingest`.
        uploads = [(Path(path).name, Path(path).read_bytes()) for path in files]
        try:
            results = [
                r.to_dict()
                for r in add_uploads(
                    services.store,
                    settings,
                    uploads,
                    lambda state: progress(state.fraction(), desc=state.describe()),
                    replace=bool(replace),
                    replace_hint=f"tick “{REPLACE_LABEL}” and add it again",
                )
            ]
        except StoreError as error:
            results = [{"path": name, "status": "skipped", "reason": user_message(error)} for name, _ in uploads]
        for result in results:
            log.info("upload %s: %s %s", result["path"], result["status"], result["reason"])
        return shown(results)

    def hold(chosen_files: list[str] | None):
        """Add to the index: the files chosen now are this upload's; the button and the checkbox
        wait for it to end (files chosen meanwhile join the picker, for the next upload)."""
        return list(chosen_files or []), gr.update(interactive=False), gr.update(interactive=False)

    def release(chosen_files: list[str] | None, uploaded: list[str] | None):
        """After an upload: its files leave the picker; those chosen while it ran stay, and are named."""
        waiting = [path for path in chosen_files or [] if path not in set(uploaded or [])]
        if waiting:
            names = ", ".join(escape(Path(path).name) for path in waiting)
            gr.Info(f"Not added yet, chosen while the upload ran: {names}. Click “Add to the index” to add them.")
        return waiting or None, gr.update(interactive=True), gr.update(interactive=True), None

    def unlock(token: str):
        """On a token server, show the file picker once the token is right (the browser has by then
        asked for the upload cookie: UNLOCK_JS)."""
        reason = refuse_change(settings, token)
        if reason:
            return gr.update(visible=False), render.results_html([{"path": "", "status": "refused", "reason": reason}])
        note = "choose files to add, or a document to delete"
        return gr.update(visible=True), render.results_html([{"path": "", "status": "unlocked", "reason": note}])

    def cannot_delete(document_id: str | None, token: str) -> dict | None:
        """Why nothing is deleted, as a result line, or None when the delete may go on."""
        reason = refuse_change(settings, token)
        if reason:
            return {"path": "", "status": "refused", "reason": reason}
        if not document_id:
            return {"path": "", "status": "nothing", "reason": "choose a document"}
        return None

    def ask_to_delete(document_id: str | None, token: str):
        """The Delete button: shows which document and file a delete removes and asks to confirm it
        (the document asked about is kept, so Confirm deletes that one whatever is chosen since)."""
        refusal = cannot_delete(document_id, token)
        record = None if refusal else services.store.document(document_id)
        if record is None:
            refusal = refusal or {"path": document_id, "status": "skipped", "reason": "no longer in the index"}
            return *dismiss(), "", render.results_html([refusal])
        what, file = f"“{escape(record.title or record.id)}”", escape(Path(record.path).name)
        if Path(record.path).resolve().is_relative_to(corpus):  # as `remove` decides whether to delete it
            question = f"Delete {what} and its file {file}? This cannot be undone."
        else:
            question = f"Delete {what} from the index? Its file {file} is outside the corpus folder and stays."
        return gr.update(visible=True), document_id, f"<p>{question}</p>", ""

    def delete(document_id: str | None, token: str):
        """Confirm: remove the document asked about, and its file; the question is put away."""
        result = cannot_delete(document_id, token)
        if result is None:
            try:
                result = remove_document(services.store, document_id, "the Documents tab").to_dict()
            except StoreError as error:
                result = {"path": document_id, "status": "skipped", "reason": user_message(error)}
        return *shown([result]), *dismiss()

    def dismiss():
        """The delete's question hidden, and the document it named forgotten."""
        return gr.update(visible=False), None

    with gr.Blocks(title="StudyChat", delete_cache=DELETE_CACHE) as demo:
        turns = gr.State([])
        messages = gr.State([])  # what the Chatbot shows, kept per session on the server
        gr.HTML(
            '<div class="sc-header"><h1>StudyChat</h1><p>Ask about the study and your documents. '
            "Every answer quotes its sources; click a [n] to see the passage.</p></div>"
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat") as chat_tab:
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        picker = gr.Dropdown(
                            label="Search in",
                            info="Choose documents to ask only them; none chosen asks all of them.",
                            choices=[],
                            value=[],
                            multiselect=True,
                            elem_id="picker",
                        )
                        chatbot = gr.Chatbot(
                            show_label=False,
                            height=480,
                            latex_delimiters=[],
                            placeholder="Ask a question about the documents, or pick an example below.",
                            elem_id="chat",
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                show_label=False,
                                placeholder="Ask a question ...",
                                max_length=settings.max_question_chars,
                                scale=5,
                                elem_id="question",
                                autofocus=True,
                            )
                            ask_button = gr.Button("Ask", variant="primary", scale=0, min_width=80, elem_id="ask")
                            clear_button = gr.Button("Clear", scale=0, min_width=80, elem_id="clear")
                        gr.Examples(EXAMPLES, inputs=question, label="Example questions")
                    with gr.Column(scale=2):
                        sources = gr.HTML(render.sources_html([]), elem_id="sources", max_height=640)
            with gr.Tab("Documents", id="documents") as documents_tab:
                gr.Markdown(access_note(settings), elem_id="access-note")
                with gr.Row(equal_height=True, visible=policy == "token"):
                    token = gr.Textbox(label="Admin token", type="password", scale=4, elem_id="admin-token")
                    unlock_button = gr.Button("Unlock", scale=1, elem_id="unlock")
                table = gr.HTML(elem_id="documents")
                with gr.Group(visible=policy != "read-only"):
                    files = gr.File(
                        label="Add documents (" + " ".join(UPLOAD_TYPES) + ")",
                        file_count="multiple",
                        file_types=UPLOAD_TYPES,
                        elem_id="upload",
                        visible=policy == "open",  # with a token: once unlocked, as Gradio's upload needs it
                    )
                    with gr.Row(equal_height=True):
                        upload_button = gr.Button(
                            "Add to the index", variant="primary", scale=3, elem_id="upload-button"
                        )
                        replace = gr.Checkbox(label=REPLACE_LABEL, value=False, scale=2, elem_id="replace")
                    with gr.Row(equal_height=True):
                        chosen = gr.Dropdown(label="Document to delete", choices=[], scale=4, elem_id="delete-choice")
                        delete_button = gr.Button("Delete", variant="stop", scale=1, elem_id="delete-button")
                    with gr.Row(equal_height=True, visible=False, elem_id="delete-confirm") as confirmation:
                        with gr.Column(scale=4):
                            delete_question = gr.HTML(elem_id="delete-question")
                        confirm_button = gr.Button("Confirm", variant="stop", scale=1, elem_id="delete-confirm-button")
                        cancel_button = gr.Button("Cancel", scale=1, elem_id="delete-cancel")
                    asked = gr.State(None)  # the document the confirmation names
                    taken = gr.State(None)  # the files of the upload that runs
                results = gr.HTML(elem_id="upload-results")

        gr.on(
            [question.submit, ask_button.click],
            respond,
            inputs=[question, messages, turns, picker],
            outputs=[chatbot, sources, turns, question, messages],
            api_name="chat",
            api_visibility="undocumented",
        )
        clear_button.click(clear, outputs=[chatbot, sources, turns, question, messages], api_visibility="private")
        # An upload takes the files chosen when the button is pressed (`taken`); files chosen while
        # it runs stay in the picker for the next one, and the button waits until it ends.
        upload_button.click(
            hold, files, [taken, upload_button, replace], show_progress="hidden", api_visibility="private"
        ).then(
            upload,
            [taken, token, replace],
            [results, table, chosen],
            show_progress_on=results,  # one progress bar, where the results appear
            api_visibility="private",
        ).then(
            release,
            [files, taken],
            [files, upload_button, replace, taken],
            show_progress="hidden",
            api_visibility="private",
        )
        gr.on(
            [unlock_button.click, token.submit],
            unlock,
            inputs=token,
            outputs=[files, results],
            js=UNLOCK_JS,
            api_visibility="private",
        )
        delete_button.click(
            ask_to_delete,
            [chosen, token],
            [confirmation, asked, delete_question, results],
            show_progress="hidden",
            api_visibility="private",
        )
        confirm_button.click(
            delete,
            [asked, token],
            [results, table, chosen, confirmation, asked],
            show_progress_on=results,
            api_visibility="private",
        )
        gr.on(
            [cancel_button.click, chosen.input],
            dismiss,
            outputs=[confirmation, asked],
            show_progress="hidden",
            api_visibility="private",
        )
        documents_tab.select(documents_view, outputs=[table, chosen], api_visibility="private")
        demo.load(documents_view, outputs=[table, chosen], api_visibility="private")
        for refreshed in (demo.load, chat_tab.select, picker.focus):  # documents come and go meanwhile
            refreshed(refresh_picker, picker, picker, api_visibility="private")
        gr.api(ask, api_name="ask")
    # Answers are short CPU work on a shared, thread-safe chain; a few at once keeps users from queueing.
    demo.queue(default_concurrency_limit=4)
    return demo
