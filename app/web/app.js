// Curbside chat page. No framework, no build step, no HTML strings: every piece of server or passage text is
// put on the page as a text node, so HTML in a question or a passage shows as text and never runs.
"use strict";

(function () {
  const API = "/v1";
  const TIMEOUT_MS = 90000;
  const KEYS = { audience: "curbside.audience", conversation: "curbside.conversation", apiKey: "curbside.apiKey" };

  const $ = (id) => document.getElementById(id);
  const els = {
    log: $("log"),
    intro: $("intro"),
    form: $("ask"),
    question: $("question"),
    submit: $("submit"),
    status: $("status"),
    error: $("error"),
    errorText: $("error-text"),
    keyBox: $("key-box"),
    apiKey: $("api-key"),
    saveKey: $("save-key"),
    newConversation: $("new-conversation"),
    source: $("source"),
    sourceTitle: $("source-title"),
    sourceMeta: $("source-meta"),
    sourceLink: $("source-link"),
    sourceText: $("source-text"),
    sourceClose: $("source-close"),
  };

  const state = {
    conversationId: null,
    busy: false,
    passages: new Map(), // passage id → Promise<passage>
  };

  // -- small helpers ---------------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (name === "text") node.textContent = value;
        else if (name === "class") node.className = value;
        else node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    for (const child of children || []) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function storage(key, value) {
    try {
      if (value === undefined) return window.localStorage.getItem(key);
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (_e) {
      return null; // storage disabled (private mode): the page still works, it just forgets
    }
    return null;
  }

  function safeUrl(url) {
    if (typeof url !== "string") return null;
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (_e) {
      return null;
    }
  }

  function referenceUrl(ref) {
    return safeUrl(ref.url) || (ref.pmid ? safeUrl("https://pubmed.ncbi.nlm.nih.gov/" + encodeURIComponent(ref.pmid) + "/") : null);
  }

  function audience() {
    const checked = document.querySelector('input[name="audience"]:checked');
    return checked ? checked.value : "clinician";
  }

  function headers(extra) {
    const h = Object.assign({ Accept: "application/json" }, extra || {});
    const key = storage(KEYS.apiKey);
    if (key) h.Authorization = "Bearer " + key;
    return h;
  }

  function setStatus(text) {
    els.status.textContent = text || "";
  }

  function showError(text, opts) {
    els.errorText.textContent = text;
    els.keyBox.hidden = !(opts && opts.needKey);
    els.error.hidden = false;
  }

  function clearError() {
    els.error.hidden = true;
    els.errorText.textContent = "";
    els.keyBox.hidden = true;
  }

  class ApiProblem extends Error {
    constructor(status, problem) {
      super((problem && problem.detail) || "HTTP " + status);
      this.status = status;
      this.problem = problem || {};
    }
  }

  async function problemOf(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (_e) {
      body = null;
    }
    return new ApiProblem(response.status, body);
  }

  function describeFailure(err) {
    if (err && err.name === "AbortError") {
      return { text: "The server took too long to answer. Your question is still in the box — try again." };
    }
    if (err instanceof ApiProblem) {
      const p = err.problem;
      const title = p.title || "Error " + err.status;
      const detail = p.detail ? ": " + p.detail : "";
      const rid = p.request_id ? " (request " + p.request_id + ")" : "";
      if (err.status === 401) {
        return { text: "This server needs an API key" + detail + ". Enter it below.", needKey: true };
      }
      if (err.status >= 500) {
        return { text: "The server could not answer (" + title + ")" + detail + rid + ". Your question is kept — try again." };
      }
      return { text: title + detail };
    }
    return {
      text: "Cannot reach the Curbside server — is it running? Your question is still in the box; try again when it is back.",
    };
  }

  // -- conversation id in the URL and local storage ----------------------------------------------------------

  function setConversation(id) {
    state.conversationId = id;
    storage(KEYS.conversation, id);
    const url = new URL(window.location.href);
    if (id) url.searchParams.set("c", id);
    else url.searchParams.delete("c");
    window.history.replaceState(null, "", url.pathname + url.search);
  }

  // -- rendering an answer ---------------------------------------------------------------------------------

  function citeButton(n, turn) {
    const ref = turn.refs.get(n);
    const label = ref ? "Source " + n + ": " + ref.label : "Source " + n;
    const button = el("button", {
      type: "button",
      class: "cite",
      "data-n": n,
      "aria-label": label,
      "aria-haspopup": "dialog",
      "aria-expanded": "false",
      "aria-controls": "source",
      text: "[" + n + "]",
    });
    button.addEventListener("click", (ev) => {
      ev.preventDefault();
      openSource(button, turn, n, true);
    });
    button.addEventListener("mouseenter", () => hoverSource(button, turn, n));
    button.addEventListener("mouseleave", scheduleHide);
    return button;
  }

  function statementItem(st, turn) {
    const li = el("li", { class: st.supported ? "statement" : "statement unsupported" }, [st.text]);
    for (const n of st.citations || []) {
      li.append(" ", citeButton(n, turn));
    }
    if (!st.supported) li.append(" ", el("em", { class: "flag", text: "(not supported by its sources)" }));
    return li;
  }

  function renderSection(sec, turn) {
    const box = el("section", {
      class: "answer-section" + (sec.abstained ? " abstained" : ""),
      "data-key": sec.key,
      "aria-labelledby": turn.id + "-" + sec.key,
    });
    box.append(el("h3", { id: turn.id + "-" + sec.key, text: sec.title }));
    if (sec.abstained) {
      box.append(el("p", { class: "abstain-badge", text: "Not answered by these sources" }));
    }
    if (sec.message) box.append(el("p", { class: "section-message", text: sec.message }));
    const direct = (sec.statements || []).filter((s) => !s.context);
    const context = (sec.statements || []).filter((s) => s.context);
    if (direct.length) {
      box.append(el("ul", { class: "statements" }, direct.map((s) => statementItem(s, turn))));
    }
    if (context.length) {
      box.append(el("h4", { class: "context-title", text: "What the sources do say" }));
      box.append(el("ul", { class: "statements context" }, context.map((s) => statementItem(s, turn))));
    }
    return box;
  }

  function renderReferences(refs, turn) {
    if (!refs.length) return null;
    const list = el("ol", { class: "references" });
    for (const ref of refs) {
      const url = referenceUrl(ref);
      const item = el("li", { value: ref.number, id: turn.id + "-ref-" + ref.number });
      const open = el("button", { type: "button", class: "ref-open", text: ref.label });
      open.addEventListener("click", () => openSource(open, turn, ref.number, true));
      item.append(open);
      if (ref.study_type) item.append(" ", el("span", { class: "study-type", text: ref.study_type }));
      if (url) {
        item.append(" ", el("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "ref-link", text: "link" }));
      }
      list.append(item);
    }
    return el("details", { class: "refs", open: true }, [el("summary", { text: "References (" + refs.length + ")" }), list]);
  }

  function renderFollowUps(answer) {
    if (!answer.follow_ups || !answer.follow_ups.length) return null;
    const chips = el("div", { class: "chips", role: "group", "aria-label": "Suggested follow-up questions" });
    for (const q of answer.follow_ups) {
      const chip = el("button", { type: "button", class: "chip", text: q });
      chip.addEventListener("click", () => {
        if (state.busy) return;
        els.question.value = q;
        ask(q);
      });
      chips.append(chip);
    }
    return el("div", { class: "follow-ups" }, [el("p", { class: "follow-title", text: "You could also ask:" }), chips]);
  }

  function newTurn(question) {
    const id = "t" + Math.random().toString(36).slice(2, 10);
    const article = el("article", { class: "turn", id: id, "aria-busy": "true" });
    const q = el("div", { class: "question" }, [el("span", { class: "who", text: "You asked" }), el("p", { class: "q-text", text: question })]);
    const body = el("div", { class: "answer", "aria-label": "Answer" });
    const note = el("p", { class: "standalone", hidden: true });
    const sections = el("div", { class: "sections" });
    body.append(note, sections);
    article.append(q, body);
    els.log.append(article);
    els.intro.hidden = true;
    return { id, article, body, note, sections, refs: new Map(), sectionNodes: new Map(), emergency: null };
  }

  // An emergency banner goes first in the answer, above every section, once (answer.emergency, or the
  // retrieval event's emergency when the server sends it early).
  function showEmergency(turn, notice) {
    if (!notice || !notice.message || turn.emergency) return;
    turn.emergency = el("div", { class: "emergency", role: "alert", "data-category": notice.category || "" }, [
      el("strong", { class: "emergency-title", text: "Emergency" }),
      el("p", { class: "emergency-message", text: notice.message }),
    ]);
    turn.body.prepend(turn.emergency);
  }

  function applyReferences(turn, refs) {
    for (const ref of refs || []) turn.refs.set(ref.number, ref);
  }

  function showSection(turn, sec) {
    const node = renderSection(sec, turn);
    const old = turn.sectionNodes.get(sec.key);
    if (old) old.replaceWith(node);
    else turn.sections.append(node);
    turn.sectionNodes.set(sec.key, node);
  }

  function showStandalone(turn, question, standalone) {
    if (standalone && standalone !== question) {
      turn.note.textContent = "Answering: " + standalone;
      turn.note.hidden = false;
    }
  }

  function finishTurn(turn, answer) {
    showEmergency(turn, answer.emergency);
    applyReferences(turn, answer.references);
    showStandalone(turn, answer.question, answer.standalone_question);
    for (const sec of answer.sections) showSection(turn, sec);
    turn.article.setAttribute("data-conversation", answer.conversation_id || "");
    turn.article.setAttribute("data-audience", answer.audience);
    if (answer.backend && answer.backend.fallback) {
      const why = answer.backend.reason ? " (" + answer.backend.reason + ")" : "";
      turn.body.append(
        el("p", {
          class: "note fallback",
          text: "The language model " + (answer.backend.llm || "") + " failed" + why + ", so this answer was composed extractively, quoting the sources directly.",
        }),
      );
    }
    const refs = renderReferences(answer.references || [], turn);
    if (refs) turn.body.append(refs);
    const follow = renderFollowUps(answer);
    if (follow) turn.body.append(follow);
    turn.body.append(el("p", { class: "disclaimer", text: answer.disclaimer }));
    turn.article.setAttribute("aria-busy", "false");
  }

  function renderStoredTurn(t) {
    const turn = newTurn(t.question);
    finishTurn(turn, t.answer);
  }

  // -- the source popover ------------------------------------------------------------------------------------

  let hideTimer = null;
  let pinned = false;
  let anchor = null;

  function fetchPassage(id) {
    if (!state.passages.has(id)) {
      const p = fetch(API + "/passages/" + encodeURIComponent(id), { headers: headers() }).then(async (r) => {
        if (!r.ok) throw await problemOf(r);
        return r.json();
      });
      p.catch(() => state.passages.delete(id));
      state.passages.set(id, p);
    }
    return state.passages.get(id);
  }

  function highlighted(text, quotes) {
    // Text nodes and <mark>s in order; overlapping or out-of-range spans are merged and clamped.
    const spans = quotes
      .map((q) => [Math.max(0, Math.min(text.length, q.start)), Math.max(0, Math.min(text.length, q.end))])
      .filter(([a, b]) => b > a)
      .sort((x, y) => x[0] - y[0]);
    const merged = [];
    for (const span of spans) {
      const last = merged[merged.length - 1];
      if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
      else merged.push(span.slice());
    }
    const out = [];
    let at = 0;
    for (const [a, b] of merged) {
      if (a > at) out.push(document.createTextNode(text.slice(at, a)));
      out.push(el("mark", { text: text.slice(a, b) }));
      at = b;
    }
    if (at < text.length) out.push(document.createTextNode(text.slice(at)));
    return out;
  }

  function placeSource(button) {
    const box = els.source;
    if (window.matchMedia("(max-width: 640px)").matches) {
      box.style.left = "";
      box.style.top = "";
      return; // a bottom sheet on phones (see style.css)
    }
    const r = button.getBoundingClientRect();
    const width = Math.min(560, window.innerWidth - 24);
    const left = Math.max(12, Math.min(r.left + window.scrollX, window.scrollX + window.innerWidth - width - 12));
    box.style.left = left + "px";
    box.style.top = r.bottom + window.scrollY + 6 + "px";
  }

  function fillSource(turn, n) {
    const ref = turn.refs.get(n);
    els.sourceText.replaceChildren();
    if (!ref) {
      els.sourceTitle.textContent = "[" + n + "]";
      els.sourceMeta.textContent = "This reference is not available yet.";
      els.sourceLink.hidden = true;
      return;
    }
    els.sourceTitle.textContent = "[" + n + "] " + (ref.title || ref.label);
    const meta = [
      ref.organization,
      ref.year,
      ref.section && ref.section !== ref.title ? ref.section : null,
      ref.study_type,
    ]
      .filter(Boolean)
      .join(" · ");
    els.sourceMeta.textContent = meta;
    const url = referenceUrl(ref);
    if (url) {
      els.sourceLink.href = url;
      els.sourceLink.hidden = false;
    } else {
      els.sourceLink.removeAttribute("href");
      els.sourceLink.hidden = true;
    }
    // The quote at once; the whole passage with the quote highlighted as soon as it arrives.
    els.sourceText.append(el("mark", { text: ref.quote.text }));
    const wanted = ref.passage_id;
    els.source.setAttribute("data-passage", wanted);
    fetchPassage(wanted)
      .then((passage) => {
        if (els.source.getAttribute("data-passage") !== wanted) return;
        const quotes = ref.quotes && ref.quotes.length ? ref.quotes : [ref.quote];
        els.sourceText.replaceChildren(...highlighted(passage.text, quotes));
        // each research article keeps its own licence (CC BY, CC BY-NC …): shown with the source
        if (ref.source_type === "research" && passage.license && passage.license !== "unknown") {
          els.sourceMeta.textContent = [els.sourceMeta.textContent, "Licence: " + passage.license]
            .filter(Boolean)
            .join(" · ");
        }
        els.source.setAttribute("data-loaded", "true");
        const first = els.sourceText.querySelector("mark");
        if (first) els.source.scrollTop = Math.max(0, first.offsetTop - 96); // the quote in view
      })
      .catch(() => {
        if (els.source.getAttribute("data-passage") !== wanted) return;
        els.sourceText.append(el("p", { class: "source-error", text: "(The full passage could not be loaded; the quoted span is shown.)" }));
      });
  }

  function openSource(button, turn, n, pin) {
    clearTimeout(hideTimer);
    if (anchor && anchor !== button) anchor.setAttribute("aria-expanded", "false");
    anchor = button;
    pinned = pin || pinned;
    els.source.removeAttribute("data-loaded");
    fillSource(turn, n);
    els.source.hidden = false;
    placeSource(button);
    button.setAttribute("aria-expanded", "true");
    if (pin) els.source.focus();
  }

  function hoverSource(button, turn, n) {
    if (pinned && anchor !== button) return;
    hideTimer && clearTimeout(hideTimer);
    hideTimer = setTimeout(() => openSource(button, turn, n, false), 120);
  }

  function scheduleHide() {
    clearTimeout(hideTimer);
    if (pinned) return;
    hideTimer = setTimeout(closeSource, 350);
  }

  function closeSource(returnFocus) {
    clearTimeout(hideTimer);
    els.source.hidden = true;
    els.source.removeAttribute("data-passage");
    pinned = false;
    if (anchor) {
      anchor.setAttribute("aria-expanded", "false");
      if (returnFocus) anchor.focus();
    }
    anchor = null;
  }

  els.source.addEventListener("mouseenter", () => clearTimeout(hideTimer));
  els.source.addEventListener("mouseleave", scheduleHide);
  els.sourceClose.addEventListener("click", () => closeSource(true));
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !els.source.hidden) closeSource(true);
  });
  document.addEventListener("click", (ev) => {
    if (els.source.hidden) return;
    const t = ev.target;
    if (els.source.contains(t) || (t.closest && t.closest(".cite, .ref-open"))) return;
    closeSource(false);
  });

  // -- asking: POST /v1/answers, read the SSE stream -----------------------------------------------------------

  function parseFrame(frame) {
    let event = "message";
    const data = [];
    for (const line of frame.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    return { event, data: data.join("\n") };
  }

  async function readStream(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (frame.trim()) onEvent(parseFrame(frame));
      }
    }
  }

  function setBusy(busy) {
    state.busy = busy;
    els.submit.disabled = busy;
    els.submit.textContent = busy ? "Answering…" : "Ask";
    els.form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  async function ask(question) {
    question = (question || "").trim();
    if (!question) {
      showError("Type a question first.");
      els.question.focus();
      return;
    }
    if (state.busy) return;
    clearError();
    closeSource(false);
    setBusy(true);
    setStatus("Searching the sources…");
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let turn = null;
    let answered = false;
    try {
      const body = { question, audience: audience() };
      if (state.conversationId) body.conversation_id = state.conversationId;
      const response = await fetch(API + "/answers", {
        method: "POST",
        headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok) throw await problemOf(response);
      turn = newTurn(question);
      turn.article.scrollIntoView({ block: "start" });
      let failure = null;
      await readStream(response, ({ event, data }) => {
        const payload = JSON.parse(data);
        if (event === "retrieval") {
          showEmergency(turn, payload.emergency);
          showStandalone(turn, question, payload.standalone_question);
          setStatus("Found sources; composing the answer…");
        } else if (event === "section") {
          applyReferences(turn, payload.references);
          showSection(turn, payload.section);
          setStatus(payload.section.title + ": ready");
        } else if (event === "answer") {
          finishTurn(turn, payload);
          setConversation(payload.conversation_id);
          answered = true;
        } else if (event === "error") {
          failure = new ApiProblem(payload.status || 500, payload);
        }
      });
      if (failure) throw failure;
      if (!answered) throw new Error("the answer stream ended early");
      els.question.value = "";
      setStatus("Answer complete.");
    } catch (err) {
      if (turn && !answered) turn.article.remove();
      if (err instanceof ApiProblem && err.status === 404 && err.problem.conversation_id) {
        setConversation(null);
        showError("That conversation no longer exists on the server. Your question is kept — press Ask to start a new conversation with it.");
      } else {
        const d = describeFailure(err);
        showError(d.text, d);
      }
      setStatus("");
      els.question.focus();
    } finally {
      clearTimeout(timer);
      setBusy(false);
    }
  }

  els.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    ask(els.question.value);
  });
  els.question.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      ask(els.question.value);
    }
  });

  // -- controls ----------------------------------------------------------------------------------------------

  function startOver() {
    closeSource(false);
    clearError();
    setConversation(null);
    els.log.replaceChildren();
    els.intro.hidden = false;
    setStatus("New conversation started.");
    els.question.focus();
  }

  els.newConversation.addEventListener("click", startOver);

  for (const radio of document.querySelectorAll('input[name="audience"]')) {
    radio.addEventListener("change", () => {
      storage(KEYS.audience, audience());
      setStatus("Answers will be written for a " + audience() + ".");
    });
  }

  els.saveKey.addEventListener("click", () => {
    const key = els.apiKey.value.trim();
    storage(KEYS.apiKey, key || null);
    els.apiKey.value = "";
    clearError();
    setStatus(key ? "API key saved in this browser." : "API key cleared.");
    els.question.focus();
  });

  async function restore() {
    const saved = storage(KEYS.audience);
    if (saved === "patient" || saved === "clinician") {
      const radio = document.querySelector('input[name="audience"][value="' + saved + '"]');
      if (radio) radio.checked = true;
    }
    const fromUrl = new URL(window.location.href).searchParams.get("c");
    const id = fromUrl || storage(KEYS.conversation);
    if (!id) return;
    setStatus("Loading the conversation…");
    try {
      const r = await fetch(API + "/conversations/" + encodeURIComponent(id), { headers: headers() });
      if (r.status === 404) {
        setConversation(null);
        setStatus("That conversation is gone (deleted, or from another server); start a new one.");
        return;
      }
      if (!r.ok) throw await problemOf(r);
      const conv = await r.json();
      setConversation(conv.id);
      for (const t of conv.turns) renderStoredTurn(t);
      setStatus(conv.turns.length ? "Conversation restored." : "");
    } catch (err) {
      state.conversationId = id; // keep it: the server may just be down for a moment
      const d = describeFailure(err);
      showError("Could not load the conversation. " + d.text, d);
      setStatus("");
    }
  }

  restore();
})();
