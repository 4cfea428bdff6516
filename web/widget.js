/* StudyChat widget: <script src="https://HOST/widget.js" data-title="Ask about the study" defer></script>
 *
 * Adds a chat button that opens a panel inside a shadow DOM (so it neither breaks nor restyles the
 * host page), streams answers from POST /api/ask/stream and shows the cited passages.
 * Options: data-title, data-position (bottom-right | bottom-left), data-colour, data-greeting.
 * Everything that comes from a document is inserted with textContent, never as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__studychatWidget) return;
  window.__studychatWidget = true;

  var base = new URL(script.src, location.href).origin;
  var options = {
    title: script.getAttribute("data-title") || "Ask about the study",
    position: script.getAttribute("data-position") === "bottom-left" ? "left" : "right",
    colour: script.getAttribute("data-colour") || script.getAttribute("data-color") || "#4f46e5",
    greeting: script.getAttribute("data-greeting") || "Hello! Ask me about the documents.",
  };
  var history = [];
  var busy = false;

  var CSS = [
    ":host { all: initial; }",
    "* { box-sizing: border-box; font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; }",
    ".launcher { position: fixed; bottom: 20px; SIDE: 20px; z-index: 2147483000; width: 56px; height: 56px;",
    "  border-radius: 50%; border: 0; background: var(--sc-colour); color: #fff; cursor: pointer;",
    "  box-shadow: 0 4px 14px rgba(0,0,0,.25); display: flex; align-items: center; justify-content: center; }",
    ".panel { position: fixed; bottom: 88px; SIDE: 20px; z-index: 2147483000; width: 380px; max-width: calc(100vw - 40px);",
    "  height: 560px; max-height: calc(100vh - 110px); background: #fff; color: #1f2937; border-radius: 14px;",
    "  box-shadow: 0 10px 40px rgba(0,0,0,.25); display: none; flex-direction: column; overflow: hidden; font-size: 14px; }",
    ".panel.open { display: flex; }",
    ".head { background: var(--sc-colour); color: #fff; padding: 12px 14px; display: flex; align-items: center; }",
    ".head h2 { font-size: 15px; margin: 0; flex: 1; font-weight: 600; }",
    ".head button { background: transparent; border: 0; color: #fff; font-size: 20px; cursor: pointer; }",
    ".log { flex: 1; overflow-y: auto; padding: 12px; background: #f9fafb; }",
    ".msg { margin: 0 0 10px; padding: 8px 11px; border-radius: 10px; line-height: 1.45; white-space: pre-wrap;",
    "  overflow-wrap: anywhere; max-width: 92%; }",
    ".user { background: var(--sc-colour); color: #fff; margin-left: auto; width: fit-content; }",
    ".bot { background: #fff; border: 1px solid #e5e7eb; }",
    ".bot.error { border-color: #fca5a5; color: #991b1b; }",
    ".cite { color: var(--sc-colour); font-weight: 700; font-size: 11px; vertical-align: super; cursor: pointer;",
    "  background: none; border: 0; padding: 0 1px; }",
    ".sources { margin-top: 8px; border-top: 1px solid #e5e7eb; padding-top: 6px; white-space: normal; }",
    ".sources h3 { font-size: 12px; margin: 2px 0 4px; color: #4b5563; text-transform: uppercase; letter-spacing: .03em; }",
    ".source { margin: 6px 0; padding: 6px 8px; border-radius: 8px; background: #f3f4f6; font-size: 12.5px; }",
    ".source.flash { outline: 2px solid var(--sc-colour); }",
    ".source .title { font-weight: 600; }",
    ".source .meta { color: #6b7280; font-size: 11.5px; margin: 2px 0; }",
    ".source .meta a { color: var(--sc-colour); }",
    ".source .passage { white-space: pre-line; margin-top: 3px; }",
    ".source mark { background: #fde68a; color: inherit; }",
    "form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #e5e7eb; background: #fff; }",
    "input { flex: 1; border: 1px solid #d1d5db; border-radius: 8px; padding: 8px 10px; font-size: 14px; color: #111827; }",
    "form button { background: var(--sc-colour); color: #fff; border: 0; border-radius: 8px; padding: 0 14px;",
    "  font-size: 14px; cursor: pointer; }",
    "form button:disabled { opacity: .5; cursor: default; }",
  ].join("\n").replace(/SIDE/g, options.position);

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
  var root = host.attachShadow({ mode: "open" });
  var style = el("style");
  style.textContent = CSS;
  root.appendChild(style);
  host.style.setProperty("--sc-colour", options.colour);

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

  function sourceCard(citation, id) {
    var card = el("div", "source");
    card.id = id;
    var title = el("div", "title", "[" + citation.n + "] " + (citation.title || "Untitled"));
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
    var text = citation.passage || "";
    var quote = citation.quote || "";
    var at = quote ? text.indexOf(quote) : -1;
    if (at < 0) {
      if (quote) { passage.appendChild(el("mark", "", quote)); passage.appendChild(document.createTextNode("\n")); }
      passage.appendChild(document.createTextNode(text));
    } else {
      passage.appendChild(document.createTextNode(text.slice(0, at)));
      passage.appendChild(el("mark", "", quote));
      passage.appendChild(document.createTextNode(text.slice(at + quote.length)));
    }
    card.appendChild(passage);
    return card;
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
      if (!known[part]) { bubble.appendChild(document.createTextNode("[" + part + "]")); return; }
      var button = el("button", "cite", "[" + part + "]");
      button.type = "button";
      var target = "sc-" + turn + "-" + part;
      button.addEventListener("click", function () {
        var card = root.getElementById(target);
        if (!card) return;
        card.scrollIntoView({ behavior: "smooth", block: "nearest" });
        card.classList.add("flash");
        setTimeout(function () { card.classList.remove("flash"); }, 1500);
      });
      bubble.appendChild(button);
    });
    if (answer.citations.length) {
      var box = el("div", "sources");
      box.appendChild(el("h3", "", answer.refused ? "Related passages (not an answer)" : "Sources"));
      var thisTurn = turn;
      answer.citations.forEach(function (c) { box.appendChild(sourceCard(c, "sc-" + thisTurn + "-" + c.n)); });
      bubble.appendChild(box);
    }
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
        body: JSON.stringify({ question: question, history: history.slice(-10) }),
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
