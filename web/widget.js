/* StudyChat widget: <script src="https://HOST/widget.js" data-title="Ask about the study" defer></script>
 *
 * Adds a chat button that opens a panel inside a shadow DOM (so it neither breaks nor restyles the
 * host page), streams answers from POST /api/ask/stream and shows the cited passages.
 * Options: data-title, data-position (bottom-right | bottom-left), data-colour, data-greeting, and
 * data-documents: the documents to ask, as their ids (GET /api/documents, the Documents tab)
 * separated by commas, e.g. "papers--trial.pdf,notes.md". Ids hold only letters, digits, ".", "_"
 * and "-" (a corpus path's "/" is "--"), so nothing in them needs escaping. Without it every
 * document is asked.
 * Its styles come from HOST/widget.css through a <link> in the shadow root, never from inline
 * styles, so a page whose Content-Security-Policy allows styles only from its own origin and
 * StudyChat's shows it the same; the colour is a CSS custom property set through the CSSOM.
 * Everything that comes from a document is inserted with textContent, never as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__studychatWidget) return;
  window.__studychatWidget = true;

  var base = new URL(script.src, location.href).origin;

  // data-documents: ids separated by commas (spaces around them allowed); none means every document.
  function documentIds(value) {
    var ids = (value || "").split(",").map(function (part) { return part.trim(); }).filter(Boolean);
    return ids.length ? ids : null;
  }

  // A document's own reference marks ("[1]", "[2, 3]", "[4-6]") written as superscript, "⁽¹⁾",
  // so that only StudyChat's citation marks read [n]: the rule of studychat/marks.py.
  var SUPERSCRIPT = { "0": "\u2070", "1": "\u00B9", "2": "\u00B2", "3": "\u00B3", "4": "\u2074", "5": "\u2075",
    "6": "\u2076", "7": "\u2077", "8": "\u2078", "9": "\u2079", "-": "\u207B", "\u2013": "\u207B", "\u2014": "\u207B" };
  function docMark(numbers) {
    return "\u207D" + numbers.replace(/\s+/g, "").replace(/[0-9\-\u2013\u2014]/g, function (c) { return SUPERSCRIPT[c]; }) + "\u207E";
  }
  function docMarks(text) {
    return text.replace(/\[(\d{1,3}(?:\s*[,;\-\u2013\u2014]\s*\d{1,3})*)\]/g, function (_, numbers) { return docMark(numbers); });
  }
  function searchedWords(scope) {
    if (scope.all) return scope.count === 1 ? "the only document" : "all " + scope.count + " documents";
    return scope.documents.map(function (d) { return d.title; }).join("; ");
  }
  var options = {
    title: script.getAttribute("data-title") || "Ask about the study",
    position: script.getAttribute("data-position") === "bottom-left" ? "left" : "right",
    colour: script.getAttribute("data-colour") || script.getAttribute("data-color") || "#4f46e5",
    greeting: script.getAttribute("data-greeting") || "Hello! Ask me about the documents.",
    documents: documentIds(script.getAttribute("data-documents")),
  };
  var history = [];
  var busy = false;

  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "26");
    svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zM7 9h10v2H7zm0-3h10v2H7zm0 6h7v2H7z");
    svg.appendChild(path);
    return svg;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var host = el("div");
  host.setAttribute("data-studychat", "");
  host.setAttribute("data-position", options.position);
  host.hidden = true;  // shown once its stylesheet is in, so the page never shows it unstyled
  var root = host.attachShadow({ mode: "open" });
  var stylesheet = el("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = base + "/widget.css";
  stylesheet.addEventListener("load", function () { host.hidden = false; });
  stylesheet.addEventListener("error", function () {
    host.hidden = false;
    console.warn("StudyChat: could not load " + stylesheet.href + "; allow it in the page's style-src.");
  });
  root.appendChild(stylesheet);
  host.style.setProperty("--sc-colour", options.colour);  // CSSOM: allowed where style attributes are not

  var launcher = el("button", "launcher");
  launcher.appendChild(chatIcon());
  launcher.setAttribute("aria-label", options.title);
  launcher.title = options.title;
  var panel = el("section", "panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", options.title);
  var head = el("div", "head");
  head.appendChild(el("h2", "", options.title));
  var close = el("button", "", "\u00D7");
  close.setAttribute("aria-label", "Close");
  head.appendChild(close);
  var log = el("div", "log");
  log.setAttribute("aria-live", "polite");
  var form = el("form");
  var input = el("input");
  input.placeholder = "Ask a question ...";
  input.maxLength = 2000;
  input.setAttribute("aria-label", "Question");
  var send = el("button", "", "Ask");
  send.type = "submit";
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(form);
  root.appendChild(launcher);
  root.appendChild(panel);
  log.appendChild(el("div", "msg bot", options.greeting));

  launcher.addEventListener("click", function () {
    panel.classList.toggle("open");
    if (panel.classList.contains("open")) input.focus();
  });
  close.addEventListener("click", function () { panel.classList.remove("open"); });

  function safeLink(source) {
    if (/^10\.\d{4,9}\/\S+$/.test(source)) return "https://doi.org/" + source;
    try {
      var url = new URL(source);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) { return null; }
  }

  // One card per passage, however many of its sentences the answer cites (as web/render.py
  // citation_card): the card is its first number's target, each further number's is an anchor
  // before its quote. A declined question's nearest sentence is pointed at ("near"), not marked.
  function sourceCard(citations, turnId, near) {
    var citation = citations[0];
    var card = el("div", "source");
    card.id = "sc-" + turnId + "-" + citation.n;
    var numbers = citations.map(function (c) { return "[" + c.n + "]"; }).join(" ");
    var title = el("div", "title", numbers + " " + (citation.title || "Untitled"));
    card.appendChild(title);
    var meta = el("div", "meta");
    var parts = [];
    if (citation.date) parts.push(citation.date);
    if (citation.page !== null && citation.page !== undefined) parts.push("page " + citation.page);
    meta.appendChild(document.createTextNode(parts.join(" \u00B7 ")));
    var link = citation.source ? safeLink(citation.source) : null;
    if (link) {
      if (parts.length) meta.appendChild(document.createTextNode(" \u00B7 "));
      var a = el("a", "", citation.source);
      a.href = link;
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
      meta.appendChild(a);
    }
    card.appendChild(meta);
    var passage = el("div", "passage");
    var text = docMarks(citation.passage || "");
    var placed = [];
    var above = [];
    citations.forEach(function (c, i) {
      // the empty element before the quote, which the number's button scrolls to; the card
      // carries the first number's id, the anchor any further one's (as web/render.py anchor)
      var anchor = el("span", "at");
      anchor.setAttribute("data-cite", "sc-" + turnId + "-" + c.n);
      if (i) anchor.id = "sc-" + turnId + "-" + c.n;
      var quote = docMarks(c.quote || "");
      var at = quote ? text.indexOf(quote) : -1;
      var overlaps = placed.some(function (p) { return p.at < at + quote.length && at < p.end; });
      if (at < 0 || overlaps) above.push({ anchor: anchor, quote: at < 0 ? quote : "" });
      else placed.push({ at: at, end: at + quote.length, anchor: anchor });
    });
    function marked(quote) { return near ? el("span", "near", quote) : el("mark", "", quote); }
    above.forEach(function (p) {
      passage.appendChild(p.anchor);
      if (p.quote) { passage.appendChild(marked(p.quote)); passage.appendChild(document.createTextNode("\n")); }
    });
    placed.sort(function (x, y) { return x.at - y.at; });
    var done = 0;
    placed.forEach(function (p) {
      passage.appendChild(document.createTextNode(text.slice(done, p.at)));
      passage.appendChild(p.anchor);
      passage.appendChild(marked(text.slice(p.at, p.end)));
      done = p.end;
    });
    passage.appendChild(document.createTextNode(text.slice(done)));
    card.appendChild(passage);
    return card;
  }

  function byPassage(citations) {
    var groups = [];
    var index = {};
    citations.forEach(function (c) {
      var key = (c.document_id || "") + "\u0000" + (c.passage || "");
      if (!(key in index)) { index[key] = groups.length; groups.push([]); }
      groups[index[key]].push(c);
    });
    return groups;
  }

  var turn = 0;
  function showAnswer(bubble, answer) {
    turn += 1;
    var known = {};
    answer.citations.forEach(function (c) { known[c.n] = true; });
    bubble.textContent = "";
    var parts = answer.answer.split(/\[(\d{1,3})\]/);
    parts.forEach(function (part, i) {
      if (i % 2 === 0) { bubble.appendChild(document.createTextNode(part)); return; }
      if (!known[part]) { bubble.appendChild(document.createTextNode(docMark(part))); return; }
      var button = el("button", "cite", "[" + part + "]");
      button.type = "button";
      var target = "sc-" + turn + "-" + part;
      button.addEventListener("click", function () {
        var at = root.getElementById(target);
        if (!at) return;
        var card = at.closest(".source") || at;
        var quote = card.querySelector('[data-cite="' + target + '"]');
        ((quote && quote.nextElementSibling) || card).scrollIntoView({ behavior: "smooth", block: "center" });
        card.classList.add("flash");
        setTimeout(function () { card.classList.remove("flash"); }, 1500);
      });
      bubble.appendChild(button);
    });
    // A tentative answer (its text opens with "The closest statement in the documents:") is muted.
    bubble.classList.toggle("tentative", !!answer.tentative);
    var box = el("div", "sources");
    if (answer.citations.length) {
      box.appendChild(el("h3", "", sourcesHeading(answer)));
      var thisTurn = turn;
      byPassage(answer.citations).forEach(function (group) { box.appendChild(sourceCard(group, thisTurn, answer.refused)); });
    }
    var facts = answerFacts(answer);
    if (facts) box.appendChild(el("p", "searched", facts));
    if (box.childNodes.length) bubble.appendChild(box);
  }

  function sourcesHeading(answer) {
    if (answer.refused) return "Related passages (not an answer)";
    return answer.tentative ? "Closest passages (maybe not an answer)" : "Sources";
  }

  // The documents searched and, for an answer given, its confidence: as web/render.py answer_facts.
  function answerFacts(answer) {
    var facts = answer.searched ? ["Searched: " + searchedWords(answer.searched)] : [];
    if (typeof answer.confidence === "number" && !answer.refused) facts.push("confidence " + answer.confidence.toFixed(2));
    return facts.join(" \u00B7 ");
  }

  function fail(bubble, message) {
    bubble.classList.add("error");
    bubble.textContent = message;
  }

  async function ask(question) {
    busy = true;
    send.disabled = true;
    log.appendChild(el("div", "msg user", question));
    var bubble = el("div", "msg bot", "\u2026");
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
    var text = "";
    var answer = null;
    try {
      var response = await fetch(base + "/api/ask/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ question: question, history: history.slice(-10), document_ids: options.documents }),
      });
      if (!response.ok) {
        var problem = await response.json().catch(function () { return {}; });
        var detail = typeof problem.detail === "string" ? problem.detail : "status " + response.status;
        return fail(bubble, "StudyChat could not answer: " + detail);
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        var events = buffer.split("\n\n");
        buffer = events.pop();
        events.forEach(function (block) {
          var name = "message", data = "";
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) name = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
          });
          var payload = data ? JSON.parse(data) : {};
          if (name === "token") { text += payload.text; bubble.textContent = text; }
          else if (name === "answer") { answer = payload; showAnswer(bubble, payload); }
          else if (name === "error") { fail(bubble, payload.message); }
        });
        if (!answer) log.scrollTop = log.scrollHeight;
      }
      if (answer) {
        log.scrollTop = Math.max(0, bubble.offsetTop - log.offsetTop - 8);  // read the answer from its start
        history.push({ role: "user", content: question });
        history.push({ role: "assistant", content: answer.answer });
      }
    } catch (error) {
      fail(bubble, "Could not reach StudyChat at " + base + ".");
    } finally {
      busy = false;
      send.disabled = false;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    ask(question);
  });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
