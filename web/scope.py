"""Which documents a question searches: the reader's chosen ids checked against the index, and the
words the sources panel and the widget show for them ("Searched: all 98 documents")."""

from __future__ import annotations

from studychat.store import Store


class UnknownDocuments(ValueError):
    """Chosen document ids that the index does not hold; `ids` lists them in the order given."""

    def __init__(self, ids: list[str]):
        self.ids = ids
        super().__init__("no document with the id " + ", ".join(repr(i) for i in ids))


def searched(store: Store, document_ids: list[str] | None) -> dict:
    """The documents a question with these `document_ids` searches, as the API returns it:
    {"all": True, "count": n, "documents": []} when none are chosen (an empty list included), else
    {"all": False, "count": k, "documents": [{"id", "title"}, ...]} in the order chosen, duplicates
    once. Raises `UnknownDocuments` naming every id the index does not hold."""
    if not document_ids:
        return {"all": True, "count": store.counts()[0], "documents": []}
    chosen = list(dict.fromkeys(document_ids))
    records = {i: store.document(i) for i in chosen}
    missing = [i for i, record in records.items() if record is None]
    if missing:
        raise UnknownDocuments(missing)
    documents = [{"id": i, "title": records[i].title or i} for i in chosen]
    return {"all": False, "count": len(documents), "documents": documents}


def searched_words(scope: dict) -> str:
    """The scope in words: "all 98 documents", "all 1 document" reads "the 1 document", or the
    chosen titles joined with "; "."""
    if scope.get("all"):
        count = scope.get("count", 0)
        return "the only document" if count == 1 else f"all {count} documents"
    return "; ".join(d["title"] for d in scope.get("documents", []))
