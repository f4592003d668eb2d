/* Virtual MPP citizen page: vanilla JS, no build step.
 * Server and user text only ever reaches the DOM through textContent (never innerHTML).
 * The session token lives in sessionStorage and travels only in the Authorization header
 * and the websocket hello frame, never in a URL. */
(function () {
  "use strict";

  // Texts come from the server's catalogue (assets/locale, web.* keys): the page's language inline,
  // any other from /i18n/<lang>.json when the visitor switches.
  var INLINE = JSON.parse(document.getElementById("i18n").textContent);
  var I18N = {};
  I18N[INLINE.lang] = INLINE.strings;
  var API = "/api/v1";
  var PROTOCOL_VERSION = 1;
  var store = window.sessionStorage;
  var prefs = window.localStorage;

  var state = {
    lang: prefs.getItem("mpp.lang") || document.documentElement.lang || "id",
    token: store.getItem("mpp.token"),
    conversation: store.getItem("mpp.conv"),
    lastSeq: parseInt(store.getItem("mpp.seq") || "0", 10) || 0,
    liveAfter: Infinity, // frames with seq above the welcome's last_seq are live, not replayed
    ws: null,
    wsReady: false,
    retry: 0,
    pending: {}, // chat refs awaiting an answer
    services: [],
    serviceById: {},
    agencies: [],
    current: null, // the service whose form is open
    attention: [],
    identity: null, // {citizen (masked), name}
    nik: null, // typed NIK, memory only, to prefill forms
    apps: {}, docs: {},
    uploads: {}, docTarget: null, // files uploaded per requirement of the open form
    ticket: null,
    board: {},
    surveyFor: null,
    handoff: null,
    assistantDown: false,
  };
  if (state.lang !== "en") state.lang = "id";

  // ------------------------------------------------------------------ helpers

  function $(id) { return document.getElementById(id); }

  function loadLang(lang) {
    if (I18N[lang]) return Promise.resolve();
    return fetch("/i18n/" + encodeURIComponent(lang) + ".json", { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (table) { if (table) I18N[lang] = table; }, function () {});
  }

  function t(key, vars, lang) {
    var table = I18N[lang || state.lang] || I18N[INLINE.lang];
    var s = table[key] !== undefined ? table[key] : (I18N[INLINE.lang][key] !== undefined ? I18N[INLINE.lang][key] : key);
    if (vars) {
      Object.keys(vars).forEach(function (k) { s = s.split("{" + k + "}").join(String(vars[k])); });
    }
    return s;
  }

  function loc(obj) {
    if (!obj) return "";
    if (typeof obj === "string") return obj;
    return (state.lang === "en" ? obj.en : obj.id) || obj.id || obj.en || "";
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
        if (k === "class") node.className = attrs[k];
        else node.setAttribute(k, attrs[k] === true ? "" : String(attrs[k]));
      });
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function errorMessage(body) {
    var d = body && body.detail;
    if (d && typeof d === "object") return state.lang === "en" ? (d.message_en || d.message) : (d.message_id || d.message);
    return t("error_generic");
  }

  function fmtDate(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toLocaleString(state.lang === "en" ? "en-GB" : "id-ID", {
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    });
  }

  function fmtDay(iso) {
    if (!iso) return "";
    var d = new Date(iso + "T00:00:00");
    if (isNaN(d.getTime())) return String(iso);
    return d.toLocaleDateString(state.lang === "en" ? "en-GB" : "id-ID", { day: "numeric", month: "long", year: "numeric" });
  }

  function stateLabel(s) { return t("state_" + s); }

  // ------------------------------------------------------------------ API

  function api(method, path, body, extraHeaders) {
    return request(method, path, body, extraHeaders).then(function (r) {
      var code = r.data && r.data.detail && r.data.detail.code;
      if (r.status !== 401 || path.indexOf("/sessions") === 0 || (code !== "token_expired" && code !== "unauthorized")) return r;
      // the session expired while the page was open: start a fresh one and retry once
      state.token = null;
      state.identity = null;
      store.removeItem("mpp.token");
      return ensureSession().then(function () {
        renderIdentity();
        if (state.ws) state.ws.close();
        return request(method, path, body, extraHeaders);
      }, function () { return r; });
    });
  }

  function request(method, path, body, extraHeaders) {
    var headers = { "Accept": "application/json", "Accept-Language": state.lang };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    Object.keys(extraHeaders || {}).forEach(function (k) { headers[k] = extraHeaders[k]; });
    return fetch(API + path, {
      method: method,
      headers: headers,
      body: body !== undefined ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    }).then(function (r) {
      return r.text().then(function (txt) {
        var data = null;
        try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = null; }
        return { ok: r.ok, status: r.status, data: data };
      });
    }, function () { return { ok: false, status: 0, data: null }; });
  }

  // One session per page: callers that ask at the same time (the page's start and guided mode's
  // "?guided=1") share the request. Two sessions meant the socket listened on one while the
  // handoff was opened on the other, so the officer's words never reached the visitor.
  var sessionPending = null;

  function ensureSession() {
    if (!sessionPending) {
      sessionPending = newOrCurrentSession().then(function (v) { sessionPending = null; return v; },
                                                 function (e) { sessionPending = null; throw e; });
    }
    return sessionPending;
  }

  // Settles once the page has a session token: the one being made, or the one it already holds.
  function sessionReady() {
    return sessionPending || (state.token ? Promise.resolve() : ensureSession());
  }

  function newOrCurrentSession() {
    var check = state.token ? api("GET", "/sessions/me") : Promise.resolve({ ok: false });
    return check.then(function (r) {
      if (r.ok) {
        if (r.data.citizen) state.identity = { citizen: r.data.citizen, name: r.data.name };
        return;
      }
      state.lastSeq = 0;
      store.removeItem("mpp.seq");
      store.removeItem("mpp.conv");
      state.conversation = null;
      return api("POST", "/sessions", { lang: state.lang }).then(function (r2) {
        if (!r2.ok) throw new Error("session");
        state.token = r2.data.token;
        store.setItem("mpp.token", state.token);
      });
    });
  }

  // ------------------------------------------------------------------ language and contrast

  function applyLang() {
    document.documentElement.lang = state.lang;
    document.title = t("title");
    document.querySelectorAll("[data-i18n]").forEach(function (n) { n.textContent = t(n.getAttribute("data-i18n")); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach(function (n) {
      n.setAttribute("placeholder", t(n.getAttribute("data-i18n-placeholder")));
    });
    document.querySelectorAll("[data-i18n-aria]").forEach(function (n) {
      n.setAttribute("aria-label", t(n.getAttribute("data-i18n-aria")));
    });
    $("btn-lang").setAttribute("lang", state.lang === "en" ? "id" : "en");
    renderServiceOptions();
    renderAgencyOptions();
    if (state.current) renderForm(state.current, collectForm());
    renderApps();
    renderTicket();
    renderBoard();
    renderIdentity();
    renderHandoff();
    updateTicketButton();
  }

  function applyContrast(on) {
    document.body.classList.toggle("contrast", on);
    $("btn-contrast").setAttribute("aria-pressed", on ? "true" : "false");
  }

  // ------------------------------------------------------------------ tabs

  var TABS = ["apply", "track", "queue", "complaint"];

  function showTab(name, focus) {
    TABS.forEach(function (n) {
      var tab = $("tab-" + n), panel = $("panel-" + n), on = n === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      panel.hidden = !on;
    });
    if (focus) $("tab-" + name).focus();
    if (name === "track") loadApps();
    if (name === "queue") { loadTickets(); loadBoard(); }
    if (name === "complaint") loadComplaints();
  }

  function bindTabs() {
    TABS.forEach(function (n, i) {
      var tab = $("tab-" + n);
      tab.addEventListener("click", function () { showTab(n, false); });
      tab.addEventListener("keydown", function (ev) {
        var j = null;
        if (ev.key === "ArrowRight") j = (i + 1) % TABS.length;
        else if (ev.key === "ArrowLeft") j = (i + TABS.length - 1) % TABS.length;
        else if (ev.key === "Home") j = 0;
        else if (ev.key === "End") j = TABS.length - 1;
        if (j !== null) { ev.preventDefault(); showTab(TABS[j], true); }
      });
    });
  }

  // ------------------------------------------------------------------ chat

  function addMessage(sender, text, extra) {
    var li = el("li", { class: "msg from-" + sender });
    li.appendChild(el("span", { class: "who" }, t(sender === "citizen" ? "you" : sender) + (extra && extra.who ? " · " + extra.who : "")));
    li.appendChild(el("p", { class: "text" }, text));
    // A source the answer already names is shown once, in place (a link when it has one); only a
    // source the text does not name gets its own line, in the reply's language, not the page's.
    var lang = (extra && extra.lang) || state.lang;
    var body = li.querySelector(".text");
    var cites = ((extra && extra.citations) || []).filter(function (c) {
      if (!c.source) return false;
      if (String(text).indexOf(c.source) < 0) return true;
      if (c.url && /^https?:\/\//.test(c.url)) linkSource(body, c.source, c.url);
      return false;
    });
    if (cites.length) {
      var ul = el("ul", { class: "cites" });
      cites.forEach(function (c) {
        var item = el("li");
        item.appendChild(document.createTextNode(t("source", null, lang) + ": "));
        if (c.url && /^https?:\/\//.test(c.url)) {
          item.appendChild(el("a", { href: c.url, target: "_blank", rel: "noopener noreferrer" }, c.source));
        } else {
          item.appendChild(document.createTextNode(c.source));
        }
        if (c.checked) item.appendChild(document.createTextNode(" · " + t("checked", null, lang) + " " + c.checked));
        ul.appendChild(item);
      });
      li.appendChild(ul);
    }
    var log = $("chat-log");
    log.appendChild(li);
    while (log.children.length > 200) log.removeChild(log.firstChild);
    log.scrollTop = log.scrollHeight;
    return li;
  }

  // Turns the first plain-text mention of a source in an answer into its link (text nodes only).
  function linkSource(p, source, url) {
    var node = p.firstChild;
    if (!node || node.nodeType !== 3 || p.childNodes.length !== 1) return;
    var at = node.data.indexOf(source);
    if (at < 0) return;
    var rest = node.splitText(at);
    rest.splitText(source.length);
    p.replaceChild(el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, source), rest);
  }

  function setQuick(replies) {
    var box = $("quick");
    clear(box);
    (replies || []).slice(0, 8).forEach(function (q) {
      var b = el("button", { type: "button", class: "btn chip" }, q.label);
      b.addEventListener("click", function () { quickReply(q); });
      box.appendChild(b);
    });
  }

  function quickReply(q) {
    var p = String(q.payload || "");
    var m = /^survey:(handoff|application):(.+)$/.exec(p);
    if (m) { openSurvey(m[1] === "handoff" ? { handoff_id: parseInt(m[2], 10) } : { application: m[2] }); return; }
    if (/^complaint:/.test(p)) { showTab("complaint", true); return; }
    say(p, q.label);
  }

  function transcript() {
    var out = [];
    document.querySelectorAll("#chat-log .msg").forEach(function (li) {
      var who = li.classList.contains("from-citizen") ? "citizen" : (li.classList.contains("from-assistant") ? "assistant" : null);
      var p = li.querySelector(".text");
      if (who && p && p.textContent && !p.hasAttribute("data-i18n")) out.push({ role: who, text: p.textContent.slice(0, 2000) });
    });
    return out.slice(-50);
  }

  var CHAT_TEXT_MAX = 8000; // protocol.messages.CHAT_TEXT_MAX

  function say(text, shown, opts) {
    text = String(text || "").trim();
    if (!text) return;
    if (text.length > CHAT_TEXT_MAX) { // refused here, clearly: never cut a message silently
      addMessage("system", t("too_long", { n: CHAT_TEXT_MAX }));
      return;
    }
    addMessage("citizen", shown || text);
    setQuick([]);
    var ref = "r" + Math.random().toString(36).slice(2, 10);
    var thinking = addMessage("system", t("thinking"));
    thinking.classList.add("thinking");
    thinking.setAttribute("aria-hidden", "true");
    state.pending[ref] = { thinking: thinking, opts: opts || {} };
    var frame = { type: "chat.say", text: text, lang: state.lang, ref: ref };
    if (state.conversation) frame.conversation_id = state.conversation;
    if (state.ws && state.wsReady) {
      state.ws.send(JSON.stringify(frame));
      state.pending[ref].timer = setTimeout(function () { chatFailed(ref, null); }, 45000);
      return;
    }
    var body = { text: frame.text, lang: state.lang };
    if (state.conversation) body.conversation_id = state.conversation;
    api("POST", "/assistant/ask", body).then(function (r) {
      if (r.ok) { r.data.ref = ref; onChatReply(r.data); } else chatFailed(ref, r.data && r.data.detail && r.data.detail.code);
    });
  }

  function settle(ref) {
    var p = ref && state.pending[ref];
    if (!p) return null;
    delete state.pending[ref];
    if (p.timer) clearTimeout(p.timer);
    if (p.thinking && p.thinking.parentNode) p.thinking.parentNode.removeChild(p.thinking);
    return p;
  }

  function chatFailed(ref, code) {
    var p = settle(ref);
    if (!p) return;
    if (code === "assistant_unavailable") {
      state.assistantDown = true;
      if (p.opts.onUnavailable) { p.opts.onUnavailable(); return; }
      addMessage("system", t("assistant_unavailable"));
      return;
    }
    addMessage("system", t("chat_error"));
  }

  function onChatReply(f) {
    settle(f.ref);
    if (f.conversation_id && f.conversation_id !== "complaints" && f.conversation_id.indexOf("g-") !== 0) {
      state.conversation = f.conversation_id;
      store.setItem("mpp.conv", f.conversation_id);
    }
    var sender = f.sender === "officer" ? "officer" : (f.sender === "system" ? "system" : "assistant");
    var who = null;
    (f.actions || []).forEach(function (a) { if (a.kind === "handoff" && a.data && a.data.officer) who = a.data.officer; });
    addMessage(sender, f.text, { citations: f.citations, lang: f.lang, who: sender === "officer" ? (who || (state.handoff && state.handoff.officer)) : null });
    setQuick(f.quick_replies);
    (f.actions || []).forEach(runAction);
    if (f.intent === "complaint.responded") loadComplaints();
  }

  function reveal(node) {
    // on a phone the panels sit below the chat: bring what the assistant points at into view
    var box = node.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight * 0.6) node.scrollIntoView({ block: "start" });
  }

  function runAction(a) {
    var d = a.data || {};
    if (a.kind === "open_form" && d.service_id) {
      showTab("apply", false);
      selectService(d.service_id, d.attention || [], d.prefill || null);
    } else if (a.kind === "show_ticket") {
      showTab("queue", false);
      reveal($("panel-queue"));
    } else if (a.kind === "show_application") {
      state.highlight = d.tracking_number || null;
      showTab("track", false);
      reveal($("panel-track"));
    } else if (a.kind === "handoff") {
      onHandoff(d);
    } else if (a.kind === "walk_to_counter" && d.counter) {
      addMessage("system", t("go_counter", { n: d.counter }));
    }
  }

  // ------------------------------------------------------------------ handoff

  function onHandoff(d) {
    var prev = state.handoff || {};
    state.handoff = {
      id: d.handoff_id || prev.id || (d.survey && d.survey.handoff_id) || null,
      state: d.state || prev.state || "pending",
      officer: d.officer || prev.officer || null,
      counter: d.counter || prev.counter || null,
    };
    renderHandoff();
    if (window.MPPCitizenCall) window.MPPCitizenCall.handoff(state.handoff);
    if (state.handoff.state === "closed") {
      var hid = (d.survey && d.survey.handoff_id) || state.handoff.id;
      if (hid) openSurvey({ handoff_id: hid });
    }
  }

  function renderHandoff() {
    var box = $("handoff-status"), h = state.handoff;
    if (!h) { box.hidden = true; return; }
    var who = h.officer ? h.officer + (h.counter ? " (" + t("counter") + " " + h.counter + ")" : "") : "";
    box.textContent = h.state === "accepted" ? (who ? t("handoff_accepted", { who: who }) : t("handoff_accepted_plain")) :
      (h.state === "closed" ? t("handoff_closed") : (h.state === "expired" ? t("handoff_expired") : t("handoff_pending")));
    box.className = "handoff-status hs-" + h.state;
    if (h.id) box.setAttribute("data-handoff", String(h.id));
    box.hidden = false;
  }

  function restoreHandoff() {
    api("GET", "/handoffs").then(function (r) {
      if (!r.ok || state.handoff) return;
      var open = r.data.filter(function (h) { return h.state === "pending" || h.state === "accepted"; })[0];
      if (!open) return;
      state.conversation = open.conversation_id;
      store.setItem("mpp.conv", open.conversation_id);
      onHandoff({ handoff_id: open.handoff_id, state: open.state, officer: open.officer });
    });
  }

  function callOfficer() {
    if (state.handoff && (state.handoff.state === "pending" || state.handoff.state === "accepted")) {
      renderHandoff();
      $("handoff-status").focus();
      return;
    }
    if (window.MPPCitizenCall) window.MPPCitizenCall.want(); // talking face to face, when the device can
    if (state.assistantDown) { directHandoff(true); return; }
    say("/officer", t("officer_asked"), { onUnavailable: function () { directHandoff(false); } });
  }

  function directHandoff(echo) {
    if (echo) addMessage("citizen", t("officer_asked"));
    openHandoff(transcript(), state.current && state.current.id).then(function (r) {
      addMessage("system", r.ok ? t("handoff_pending") : errorMessage(r.data));
    });
  }

  // The remote counter, straight (no assistant round trip): the page's chat and guided mode.
  function openHandoff(said, serviceId) {
    if (window.MPPCitizenCall) window.MPPCitizenCall.want();
    var body = { transcript: said, guided: document.body.classList.contains("guided-on") };
    if (state.conversation) body.conversation_id = state.conversation;
    if (serviceId) body.service_id = serviceId;
    return api("POST", "/handoffs", body).then(function (r) {
      if (r.ok) {
        state.conversation = r.data.conversation_id;
        store.setItem("mpp.conv", state.conversation);
        onHandoff({ handoff_id: r.data.handoff_id, state: r.data.state });
      }
      return r;
    });
  }

  // ------------------------------------------------------------------ identity

  function renderIdentity() {
    var ok = !!state.identity;
    $("identify-form").hidden = ok || !!state.challenge;
    $("code-form").hidden = ok || !state.challenge;
    var p = $("identified");
    p.hidden = !ok;
    if (ok) p.textContent = t("identified_as") + ": " + state.identity.name + " · " + state.identity.citizen;
    $("my-data").hidden = !ok;
  }

  // Everything the server holds about this citizen (UU 27/2022), as a zip: only a proven session gets it.
  function downloadMyData() {
    return fetch(API + "/me/data.zip", { headers: { Authorization: "Bearer " + state.token, "Accept-Language": state.lang } })
      .then(function (r) {
        if (!r.ok) {
          return r.json().then(function (body) { throw new Error(errorMessage(body)); }, function () { throw new Error(t("error_generic")); });
        }
        return r.blob();
      })
      .then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = el("a", { href: url, download: "data-saya.zip" });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      }, function (e) { addMessage("system", e.message); });
  }

  function fieldError(input, errNode, msg) {
    errNode.textContent = msg || "";
    if (msg) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  }

  // Step 1: NIK + name (+ a contact for a first registration). The reply is the same whatever the NIK.
  function identify(ev) {
    ev.preventDefault();
    var nik = $("id-nik").value.replace(/\s+/g, ""), name = $("id-name").value.trim();
    var contact = $("id-contact").value.trim();
    fieldError($("id-nik"), $("id-nik-err"), "");
    fieldError($("id-name"), $("id-name-err"), "");
    fieldError($("id-contact"), $("id-contact-err"), "");
    // only emptiness is checked here: the server says what is wrong with a NIK (length, digits, region)
    if (!name) { fieldError($("id-name"), $("id-name-err"), t("required")); $("id-name").focus(); }
    if (!nik) { fieldError($("id-nik"), $("id-nik-err"), t("required")); $("id-nik").focus(); }
    if (!name || !nik) return Promise.resolve(false);
    var body = { nik: nik, name: name };
    if (contact) body.contact = contact;
    // a quick citizen can submit before the page's session exists: without it the server answers 401
    return sessionReady().then(function () {
      return api("POST", "/sessions/identify", body);
    }, function () {
      return { ok: false, status: 0, data: null };
    }).then(function (r) {
      if (!r.ok) {
        var d = r.data && r.data.detail;
        var target = d && (d.field === "name" || d.code === "invalid_name") ? "name"
          : d && d.code === "invalid_contact" ? "contact" : "nik";
        fieldError($("id-" + target), $("id-" + target + "-err"), errorMessage(r.data));
        $("id-" + target).focus();
        return false;
      }
      state.challenge = r.data.challenge_id;
      state.nik = nik;
      $("code-sent").textContent = state.lang === "en" ? r.data.message_en : r.data.message_id;
      $("id-code").value = "";
      renderIdentity();
      $("id-code").focus();
      return true;
    });
  }

  // Step 2: the code; only this links the session to the citizen's applications.
  function verifyCode(ev) {
    ev.preventDefault();
    var code = $("id-code").value.replace(/\s+/g, "");
    fieldError($("id-code"), $("id-code-err"), "");
    if (!/^\d{6}$/.test(code)) {
      fieldError($("id-code"), $("id-code-err"), t("code_wrong"));
      $("id-code").focus();
      return Promise.resolve(false);
    }
    return api("POST", "/sessions/verify", { challenge_id: state.challenge, code: code }).then(function (r) {
      if (!r.ok) {
        fieldError($("id-code"), $("id-code-err"), errorMessage(r.data));
        $("id-code").focus();
        return false;
      }
      state.challenge = null;
      state.identity = { citizen: r.data.citizen, name: r.data.name };
      renderIdentity();
      prefillIdentity();
      loadApps();
      return true;
    });
  }

  function codeAgain() {
    state.challenge = null;
    renderIdentity();
    $("id-nik").focus();
  }

  // ------------------------------------------------------------------ services and forms

  function loadCatalog() {
    return Promise.all([api("GET", "/services"), api("GET", "/agencies")]).then(function (rs) {
      state.services = rs[0].ok ? rs[0].data : [];
      state.services.forEach(function (s) { state.serviceById[s.id] = s; });
      state.agencies = rs[1].ok ? rs[1].data : [];
      renderServiceOptions();
      renderAgencyOptions();
    });
  }

  function serviceName(id) {
    var s = state.serviceById[id];
    return s ? loc(s.name) : id;
  }

  function sortedServices() {
    return state.services.slice().sort(function (a, b) { return loc(a.name).localeCompare(loc(b.name)); });
  }

  function renderServiceOptions() {
    ["svc", "q-svc"].forEach(function (id) {
      var sel = $(id), keep = sel.value;
      while (sel.options.length > (id === "svc" ? 1 : 0)) sel.remove(sel.options.length - 1);
      sortedServices().forEach(function (s) {
        sel.appendChild(el("option", { value: s.id }, loc(s.name) + " — " + t("counter") + " " + s.counter));
      });
      if (keep) sel.value = keep;
      else if (id === "q-svc" && state.current) sel.value = state.current.id;
    });
  }

  function renderAgencyOptions() {
    var sel = $("c-agency"), keep = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    state.agencies.forEach(function (a) { sel.appendChild(el("option", { value: a.id }, loc(a.name))); });
    sel.value = keep;
  }

  function selectService(id, attention, prefill) {
    $("svc").value = id;
    state.attention = attention || [];
    if (state.docTarget) { state.uploads[state.docTarget.service] = {}; state.docTarget = null; } // a new form, new files
    return api("GET", "/services/" + encodeURIComponent(id)).then(function (r) {
      if (!r.ok) return;
      state.current = r.data;
      $("q-svc").value = id;
      $("app-done").hidden = true;
      renderForm(r.data, prefill || {});
      prefillIdentity();
      updateTicketButton();
    });
  }

  function collectForm() {
    var data = {};
    if (!state.current) return data;
    state.current.form.forEach(function (f) {
      var n = $("f-" + f.name);
      if (n && n.value !== "") data[f.name] = n.value;
    });
    return data;
  }

  function prefillIdentity() {
    if (!state.current) return;
    var nik = $("f-nik"), name = $("f-full_name");
    if (nik && !nik.value && state.nik) nik.value = state.nik;
    if (name && !name.value && state.identity) name.value = state.identity.name;
  }

  var INPUT_TYPES = { text: "text", nik: "text", date: "date", phone: "tel", email: "email", number: "number", village: "text" };

  function renderForm(svc, values) {
    var info = $("svc-info");
    clear(info);
    info.appendChild(el("p", { class: "svc-desc" }, loc(svc.description)));
    var facts = el("ul", { class: "facts" });
    facts.appendChild(el("li", null, t("counter") + " " + svc.counter));
    facts.appendChild(el("li", null, svc.fee && svc.fee.free ? t("fee_free") : t("fee_paid")));
    facts.appendChild(el("li", null, loc(svc.processing_time)));
    info.appendChild(facts);
    info.hidden = false;

    var box = $("form-fields");
    clear(box);
    svc.form.forEach(function (f) {
      var wrap = el("div", { class: "field" + (state.attention.indexOf(f.name) >= 0 ? " attention" : "") });
      var id = "f-" + f.name;
      var label = el("label", { for: id }, loc(f.label));
      label.appendChild(el("span", { class: f.required ? "req" : "opt" }, " (" + t(f.required ? "required" : "optional") + ")"));
      wrap.appendChild(label);
      if (state.attention.indexOf(f.name) >= 0) wrap.appendChild(el("p", { class: "attn" }, t("attention")));
      var describedBy = [];
      if (f.help) describedBy.push(id + "-help");
      describedBy.push(id + "-err");
      var input;
      if (f.type === "select") {
        input = el("select", { id: id, name: f.name });
        input.appendChild(el("option", { value: "" }, "—"));
        f.options.forEach(function (o) { input.appendChild(el("option", { value: o.value }, loc(o.label))); });
      } else if (f.type === "textarea") {
        input = el("textarea", { id: id, name: f.name, rows: 3, maxlength: f.max_length || null });
      } else {
        input = el("input", {
          id: id, name: f.name, type: INPUT_TYPES[f.type] || "text",
          maxlength: f.type === "nik" ? 16 : (f.max_length || null),
          inputmode: f.type === "nik" ? "numeric" : null,
          min: f.minimum !== null && f.minimum !== undefined ? f.minimum : null,
          max: f.maximum !== null && f.maximum !== undefined ? f.maximum : null,
          autocomplete: f.name === "full_name" ? "name" : (f.type === "email" ? "email" : (f.type === "phone" ? "tel" : "off")),
          list: f.type === "village" ? "villages" : null,
        });
      }
      if (f.required) input.setAttribute("aria-required", "true");
      input.setAttribute("aria-describedby", describedBy.join(" "));
      if (values && values[f.name] !== undefined) input.value = values[f.name];
      wrap.appendChild(input);
      if (f.help) wrap.appendChild(el("p", { id: id + "-help", class: "hint" }, loc(f.help)));
      wrap.appendChild(el("p", { id: id + "-err", class: "err", "aria-live": "polite" }));
      box.appendChild(wrap);
    });
    if (svc.form.some(function (f) { return f.type === "village"; })) loadVillages();
    renderDocs(svc);
    $("app-form").hidden = false;
    $("form-error").hidden = true;
  }

  // ------------------------------------------------------------------ documents to bring

  // state.uploads[service][i]: the upload made for requirement i. Before the application exists
  // a file belongs to the session; submitting attaches it (state.docTarget then names the application).
  function renderDocs(svc) {
    var ul = $("req-docs");
    clear(ul);
    var reqs = svc.requirements || [];
    $("svc-docs").hidden = !reqs.length;
    var done = state.uploads[svc.id] || {};
    reqs.forEach(function (r, i) {
      var id = "doc-req-" + i;
      var li = el("li", { class: "req-doc", id: id + "-item" });
      li.appendChild(el("p", { class: "req-text", id: id + "-text" }, loc(r)));
      var label = el("label", { class: "btn small upload", for: id }, t("doc_upload"));
      var input = el("input", {
        id: id, type: "file", class: "sr-only", accept: "image/*,application/pdf", capture: "environment",
        "aria-describedby": id + "-text " + id + "-err " + id + "-ok",
      });
      input.addEventListener("change", function () { if (input.files && input.files[0]) uploadFor(svc.id, i, input.files[0]); });
      li.appendChild(input);
      li.appendChild(label);
      li.appendChild(el("p", { class: "doc-ok", id: id + "-ok", "aria-live": "polite" },
        done[i] ? "✓ " + t("doc_uploaded") + ": " + done[i].filename : ""));
      li.appendChild(el("p", { class: "err", id: id + "-err", "aria-live": "polite" }));
      ul.appendChild(li);
    });
  }

  function uploadFor(serviceId, i, file) {
    var id = "doc-req-" + i, ok = $(id + "-ok"), err = $(id + "-err"), input = $(id);
    err.textContent = "";
    input.removeAttribute("aria-invalid");
    ok.textContent = t("doc_uploading");
    var form = new FormData();
    form.append("file", file, file.name);
    var target = state.docTarget && state.docTarget.service === serviceId ? state.docTarget.tracking : null;
    if (target) form.append("application", target);
    return fetch(API + "/documents", {
      method: "POST", body: form, credentials: "same-origin",
      headers: { "Accept": "application/json", "Accept-Language": state.lang, "Authorization": "Bearer " + state.token },
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, data: body }; }, function () { return { ok: false, data: null }; });
    }, function () { return { ok: false, data: null }; }).then(function (r) {
      if (!state.current || state.current.id !== serviceId || !$(id)) return;
      ok = $(id + "-ok"); err = $(id + "-err"); input = $(id); // a language switch may have re-rendered them
      input.value = "";
      if (!r.ok) {
        ok.textContent = "";
        err.textContent = errorMessage(r.data);
        input.setAttribute("aria-invalid", "true");
        return;
      }
      (state.uploads[serviceId] = state.uploads[serviceId] || {})[i] = { id: r.data.id, filename: r.data.filename };
      ok.textContent = "✓ " + t("doc_uploaded") + ": " + r.data.filename;
    });
  }

  // After a submission: the files uploaded for the form join the new application.
  function attachUploads(serviceId, tracking) {
    state.docTarget = { service: serviceId, tracking: tracking };
    var up = state.uploads[serviceId] || {};
    var ids = Object.keys(up).map(function (k) { return up[k].id; });
    if (!ids.length) return;
    api("POST", "/applications/" + encodeURIComponent(tracking) + "/documents", { ids: ids }).then(function (r) {
      if (!r.ok) addMessage("system", errorMessage(r.data));
    });
  }

  function loadVillages() {
    if ($("villages")) return;
    var list = el("datalist", { id: "villages" });
    document.body.appendChild(list);
    api("GET", "/villages").then(function (r) {
      if (!r.ok) return;
      r.data.forEach(function (v) { list.appendChild(el("option", { value: v.name }, v.name + " — " + v.kecamatan)); });
    });
  }

  function showFieldErrors(fields) {
    var first = null;
    Object.keys(fields || {}).forEach(function (name) {
      var input = $("f-" + name), err = $("f-" + name + "-err");
      if (input && err) {
        fieldError(input, err, loc(fields[name]));
        if (!first) first = input;
      }
    });
    return first;
  }

  function submitApplication(ev) {
    ev.preventDefault();
    if (!state.current) return;
    var svc = state.current;
    svc.form.forEach(function (f) {
      var input = $("f-" + f.name);
      if (input) fieldError(input, $("f-" + f.name + "-err"), "");
    });
    var formError = $("form-error");
    formError.hidden = true;
    if (!state.identity) {
      formError.textContent = t("identify_hint");
      formError.hidden = false;
      $("id-nik").focus();
      return;
    }
    var btn = $("btn-submit");
    btn.disabled = true;
    btn.textContent = t("submitting");
    var body = { service_id: svc.id, data: collectForm(), submit: true };
    api("POST", "/applications", body, { "Idempotency-Key": uuid() }).then(function (r) {
      btn.disabled = false;
      btn.textContent = t("submit_app");
      if (r.ok) {
        $("done-tracking").textContent = r.data.tracking_number;
        $("done-sla").textContent = r.data.sla_due ? t("sla_due") + ": " + fmtDay(r.data.sla_due) : "";
        $("app-form").hidden = true;
        $("app-done").hidden = false;
        $("app-done").focus();
        state.apps[r.data.tracking_number] = { app: r.data, events: null };
        attachUploads(svc.id, r.data.tracking_number);
        return;
      }
      var d = r.data && r.data.detail;
      formError.textContent = d && d.fields ? t("form_invalid") : errorMessage(r.data);
      formError.hidden = false;
      var first = d && d.fields ? showFieldErrors(d.fields) : null;
      (first || formError).focus();
    });
  }

  // ------------------------------------------------------------------ tracking

  function loadApps() {
    if (!state.identity) {
      // The chat may have identified this session (an application made in the conversation):
      // ask the server who we are before saying there is nothing to track.
      return api("GET", "/sessions/me").then(function (r) {
        if (r.ok && r.data.citizen) {
          state.identity = { citizen: r.data.citizen, name: r.data.name };
          renderIdentity();
          return loadApps();
        }
        renderApps();
      });
    }
    return api("GET", "/applications").then(function (r) {
      if (!r.ok) return;
      r.data.forEach(function (a) {
        var known = state.apps[a.tracking_number];
        state.apps[a.tracking_number] = { app: a, events: known ? known.events : null };
      });
      renderApps();
      r.data.slice(0, 10).forEach(function (a) { loadEvents(a.tracking_number); });
      loadDocs();
    });
  }

  // ------------------------------------------------------------------ issued documents

  function loadDocs() {
    return api("GET", "/issued-documents").then(function (r) {
      if (!r.ok) return;
      state.docs = {};
      r.data.forEach(function (d) {
        state.docs[d.tracking_number] = d;
        if (!state.apps[d.tracking_number]) {
          // a Lahir Procot birth registered for the other parent: tracked here too
          state.apps[d.tracking_number] = { app: { tracking_number: d.tracking_number, service_id: d.service_id, state: "completed" }, events: null };
        }
      });
      renderApps();
    });
  }

  function fetchPdf(code, inline) {
    var url = API + "/applications/" + encodeURIComponent(code) + "/document.pdf" + (inline ? "?inline=1" : "");
    return fetch(url, { headers: { Authorization: "Bearer " + state.token } }).then(function (r) {
      if (!r.ok) {
        return r.json().then(function (body) { throw new Error(errorMessage(body)); }, function () { throw new Error(t("error_generic")); });
      }
      return r.blob();
    });
  }

  function downloadDoc(code) {
    var d = state.docs[code];
    return fetchPdf(code, false).then(function (blob) {
      var url = URL.createObjectURL(blob);
      var a = el("a", { href: url, download: (d ? d.number : code).replace(/[^A-Za-z0-9_-]+/g, "-") + ".pdf" });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    }, function (e) { addMessage("system", e.message); });
  }

  function printDoc(code) {
    // The print view: the signed PDF itself in a new tab (the browser's viewer prints it on A4 as issued).
    var win = window.open("", "_blank");
    return fetchPdf(code, true).then(function (blob) {
      var url = URL.createObjectURL(new Blob([blob], { type: "application/pdf" }));
      if (win) win.location.href = url; else window.location.href = url;
    }, function (e) { if (win) win.close(); addMessage("system", e.message); });
  }

  function docBox(code) {
    var d = state.docs && state.docs[code];
    if (!d) return null;
    var box = el("div", { class: "doc-box" + (d.revoked ? " revoked" : ""), id: "doc-" + code, "data-number": d.number });
    box.appendChild(el("p", { class: "doc-title" },
      (state.lang === "en" ? d.title_en : d.title) + " · " + t("doc_number") + " " + d.number));
    if (d.revoked) {
      box.appendChild(el("p", { class: "doc-note" }, t("doc_revoked")));
      return box;
    }
    box.appendChild(el("p", { class: "doc-note" }, t(d.claim_slip ? "doc_claim_slip" : "doc_ready_note")));
    if (d.specimen) box.appendChild(el("p", { class: "doc-note" }, t("doc_specimen")));
    var dl = el("button", { type: "button", class: "btn small", "data-doc": "download" }, t("doc_download"));
    dl.addEventListener("click", function () { downloadDoc(code); });
    var pr = el("button", { type: "button", class: "btn small", "data-doc": "print" }, t("doc_print"));
    pr.addEventListener("click", function () { printDoc(code); });
    var check = el("a", { href: d.verify_url, target: "_blank", rel: "noopener", class: "doc-verify" }, t("doc_verify"));
    box.appendChild(dl);
    box.appendChild(pr);
    box.appendChild(check);
    return box;
  }

  function onDocumentEvent(f) {
    if (f.seq > state.liveAfter && f.state === "issued") addMessage("system", t("doc_ready", { code: f.tracking_number }));
    if (f.seq > state.liveAfter && f.state === "revoked") addMessage("system", t("doc_revoked"));
    loadDocs();
  }

  function loadEvents(code) {
    return api("GET", "/applications/" + encodeURIComponent(code) + "/events").then(function (r) {
      if (!r.ok || !state.apps[code]) return;
      state.apps[code].events = r.data;
      renderApps();
    });
  }

  function renderApps() {
    var ul = $("apps");
    clear(ul);
    var codes = Object.keys(state.apps).sort().reverse();
    $("apps-empty").hidden = codes.length > 0;
    codes.forEach(function (code) {
      var entry = state.apps[code], a = entry.app;
      var li = el("li", { class: "app" + (state.highlight === code ? " highlight" : ""), id: "app-" + code });
      var head = el("div", { class: "app-head" });
      head.appendChild(el("span", { class: "app-code" }, code));
      head.appendChild(el("span", { class: "badge st-" + a.state }, stateLabel(a.state)));
      li.appendChild(head);
      li.appendChild(el("p", { class: "app-svc" }, serviceName(a.service_id) + (a.sla_due ? " · " + t("sla_due") + ": " + fmtDay(a.sla_due) : "")));
      if (entry.events && entry.events.length) {
        var ol = el("ol", { class: "timeline", "aria-label": t("timeline") + " " + code });
        entry.events.forEach(function (e) {
          var to = e.to_state || e.to || e.state;
          var item = el("li", { class: "st-" + to });
          item.appendChild(el("span", { class: "tl-state" }, stateLabel(to)));
          item.appendChild(el("span", { class: "tl-at" }, fmtDate(e.at || e.created_at)));
          if (e.note) item.appendChild(el("span", { class: "tl-note" }, e.note));
          ol.appendChild(item);
        });
        li.appendChild(ol);
      }
      if (a.state === "draft" || a.state === "submitted") {
        // two presses: the first only asks; kept in state so a live re-render does not forget it
        var asking = state.confirmCancel === code;
        var cancel = el("button", { type: "button", class: "btn small danger", "data-confirm": asking ? "1" : null },
          t(asking ? "cancel_confirm" : "cancel_app"));
        cancel.addEventListener("click", function () {
          if (state.confirmCancel !== code) {
            state.confirmCancel = code;
            renderApps();
            var again = document.querySelector("#app-" + code + " button.danger");
            if (again) again.focus();
            return;
          }
          state.confirmCancel = null;
          cancel.disabled = true;
          api("POST", "/applications/" + encodeURIComponent(code) + "/cancel", {}).then(function (r) {
            if (r.ok) { entry.app = r.data; loadEvents(code); } else addMessage("system", errorMessage(r.data));
            renderApps();
          });
        });
        li.appendChild(cancel);
      }
      var docEl = docBox(code);
      if (docEl) li.appendChild(docEl);
      if (a.state === "completed" || a.state === "rejected") {
        var b = el("button", { type: "button", class: "btn small" }, t("survey_offer"));
        b.addEventListener("click", function () { openSurvey({ application: code }); });
        li.appendChild(b);
      }
      ul.appendChild(li);
    });
  }

  // Steps the visitor waits for or must act on reach the chat; the rest (draft saves, internal
  // progress) only update the tracker.
  var CHAT_STATES = ["submitted", "needs_revision", "ready", "completed", "rejected"];

  function onApplicationEvent(f) {
    var code = f.tracking_number;
    var entry = state.apps[code];
    if (entry) {
      entry.app.state = f.to_state;
      entry.app.version = f.version;
      if (entry.events) {
        var seen = entry.events.some(function (e) { return (e.seq || e.id) === f.seq; });
        if (!seen) entry.events.push({ seq: f.seq, to_state: f.to_state, from_state: f.from_state, at: f.at, note: f.note });
      }
      renderApps();
    } else if (state.identity) {
      loadApps();
    }
    if (f.seq > state.liveAfter && CHAT_STATES.indexOf(f.to_state) >= 0) {
      addMessage("system", t("update_app", { code: code, state: stateLabel(f.to_state) }));
    }
    if (f.seq > state.liveAfter && f.to_state === "completed") openSurvey({ application: code });
  }

  // ------------------------------------------------------------------ queue

  function loadTickets() {
    return api("GET", "/queue/tickets").then(function (r) {
      if (!r.ok) return;
      var active = r.data.filter(function (x) { return x.state === "waiting" || x.state === "called"; });
      state.ticket = active[0] || null;
      renderTicket();
    });
  }

  function loadBoard() {
    return api("GET", "/queue/board").then(function (r) {
      if (!r.ok) return;
      r.data.forEach(function (row) { state.board[row.counter] = row; });
      renderBoard();
    });
  }

  function renderTicket() {
    var tk = state.ticket, box = $("ticket");
    if (!tk) { box.hidden = true; return; }
    $("ticket-code").textContent = tk.code;
    $("ticket-counter").textContent = t("counter") + " " + tk.counter + " · " + stateLabel(tk.state);
    $("ticket-wait").textContent = tk.state === "waiting" && tk.estimated_wait_min !== null && tk.estimated_wait_min !== undefined ?
      t("wait_min", { n: tk.estimated_wait_min }) : "";
    box.className = "ticket tk-" + tk.state;
    box.hidden = false;
  }

  function renderBoard() {
    var ul = $("board");
    clear(ul);
    Object.keys(state.board).map(Number).sort(function (a, b) { return a - b; }).forEach(function (n) {
      var row = state.board[n];
      if (!row.now_serving && !row.waiting) return;
      var li = el("li");
      li.appendChild(el("span", { class: "b-counter" }, t("counter") + " " + n));
      li.appendChild(el("span", { class: "b-now" }, row.now_serving || "—"));
      li.appendChild(el("span", { class: "b-wait" }, row.waiting + " " + t("waiting")));
      ul.appendChild(li);
    });
  }

  function takeTicket(counter) {
    var errBox = $("queue-error");
    errBox.hidden = true;
    return api("POST", "/queue/tickets", { counter: counter }).then(function (r) {
      showTab("queue", false);
      if (!r.ok) { errBox.textContent = errorMessage(r.data); errBox.hidden = false; return; }
      state.ticket = r.data;
      renderTicket();
      $("ticket").focus();
    });
  }

  function updateTicketButton() {
    var b = $("btn-ticket-svc");
    if (state.current) b.textContent = t("take_ticket_for", { n: state.current.counter });
    $("svc-actions").hidden = !state.current;
  }

  function onQueueEvent(f) {
    if (!state.ticket || state.ticket.code === f.ticket_code) {
      state.ticket = { code: f.ticket_code, counter: f.counter, state: f.state, estimated_wait_min: f.estimated_wait_min };
      if (f.state === "served" || f.state === "skipped") state.ticket.estimated_wait_min = null;
      renderTicket();
    }
    if (f.state === "called" && f.seq > state.liveAfter) {
      $("called-text").textContent = t("called_text", { code: f.ticket_code, n: f.counter });
      $("called").hidden = false;
      $("called-close").focus();
      document.title = t("called_title") + " " + f.ticket_code + " · " + t("title"); // seen from another tab
      if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
    }
  }

  // ------------------------------------------------------------------ complaints

  function loadComplaints() {
    return api("GET", "/complaints").then(function (r) {
      if (!r.ok) return;
      var ul = $("complaints");
      clear(ul);
      $("complaints-empty").hidden = r.data.length > 0;
      r.data.forEach(function (c) {
        var li = el("li", { class: "complaint" });
        var head = el("div", { class: "app-head" });
        head.appendChild(el("span", { class: "app-code" }, c.tracking));
        head.appendChild(el("span", { class: "badge st-" + c.state }, stateLabel(c.state)));
        li.appendChild(head);
        li.appendChild(el("p", { class: "c-subject" }, c.subject));
        li.appendChild(el("p", { class: "c-response" }, c.response ? t("response") + ": " + c.response : t("no_response")));
        ul.appendChild(li);
      });
    });
  }

  function submitComplaint(ev) {
    ev.preventDefault();
    var subject = $("c-subject").value.trim(), body = $("c-body").value.trim(), agency = $("c-agency").value;
    var msg = $("complaint-msg");
    msg.hidden = true;
    fieldError($("c-subject"), $("c-subject-err"), subject.length < 3 ? t("required") : "");
    fieldError($("c-body"), $("c-body-err"), body.length < 10 ? t("required") : "");
    if (subject.length < 3) { $("c-subject").focus(); return; }
    if (body.length < 10) { $("c-body").focus(); return; }
    var payload = { subject: subject, body: body };
    if (agency) payload.agency = agency;
    api("POST", "/complaints", payload).then(function (r) {
      if (!r.ok) {
        msg.textContent = errorMessage(r.data);
        msg.className = "alert error";
        msg.hidden = false;
        return;
      }
      msg.textContent = t("complaint_sent", { code: r.data.tracking });
      msg.className = "alert ok";
      msg.hidden = false;
      $("complaint-form").reset();
      loadComplaints();
    });
  }

  // ------------------------------------------------------------------ survey

  function openSurvey(target) {
    var dlg = $("survey");
    if (dlg.open) return;
    if (document.body.classList.contains("guided-on")) { state.deferredSurvey = target; return; } // after the visit
    state.surveyFor = target;
    $("survey-form").reset();
    $("survey-msg").hidden = true;
    $("survey-send").disabled = false;
    $("survey-about").textContent = target.application ? t("tracking_number") + ": " + target.application :
      (target.handoff_id ? t("handoff_closed") : "");
    if (dlg.showModal) dlg.showModal(); else dlg.setAttribute("open", "");
  }

  function submitSurvey(ev) {
    ev.preventDefault();
    var picked = document.querySelector("#survey-form input[name=score]:checked");
    var msg = $("survey-msg");
    if (!picked) { msg.textContent = t("survey_pick"); msg.className = "alert error"; msg.hidden = false; return; }
    var body = { score: parseInt(picked.value, 10) };
    var comment = $("survey-comment").value.trim();
    if (comment) body.comment = comment;
    if (state.surveyFor && state.surveyFor.application) body.application = state.surveyFor.application;
    if (state.surveyFor && state.surveyFor.handoff_id) body.handoff_id = state.surveyFor.handoff_id;
    $("survey-send").disabled = true;
    api("POST", "/survey", body).then(function (r) {
      msg.textContent = r.ok ? t("survey_thanks") : errorMessage(r.data);
      msg.className = r.ok || r.status === 409 ? "alert ok" : "alert error";
      msg.hidden = false;
      if (r.ok || r.status === 409) setTimeout(closeSurvey, 1500);
      else $("survey-send").disabled = false;
    });
  }

  function closeSurvey() {
    var dlg = $("survey");
    if (dlg.close) { if (dlg.open) dlg.close(); } else dlg.removeAttribute("open");
  }

  // ------------------------------------------------------------------ websocket

  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var ws;
    try { ws = new WebSocket(proto + location.host + "/ws"); } catch (e) { scheduleReconnect(); return; }
    state.ws = ws;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "hello", token: state.token, protocol_version: PROTOCOL_VERSION, last_seq: state.lastSeq }));
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (!f || typeof f.type !== "string") return;
      if (typeof f.seq === "number" && f.seq > state.lastSeq) {
        state.lastSeq = f.seq;
        store.setItem("mpp.seq", String(f.seq));
      }
      switch (f.type) {
        case "welcome":
          state.wsReady = true;
          state.retry = 0;
          state.liveAfter = Math.max(state.lastSeq, f.last_seq || 0);
          $("conn-status").hidden = true;
          document.body.setAttribute("data-live", "1");
          if (window.MPPGuided) window.MPPGuided.welcome(); // a guided visit resumes on the new socket
          break;
        case "guided.step": if (window.MPPGuided) window.MPPGuided.step(f); break;
        case "ping": ws.send(JSON.stringify({ type: "pong", nonce: f.nonce })); break;
        case "chat.reply": onChatReply(f); break;
        case "application.event": onApplicationEvent(f); break;
        case "document.event": onDocumentEvent(f); break;
        case "queue.event": onQueueEvent(f); break;
        case "board.update":
          state.board[f.counter] = { counter: f.counter, now_serving: f.now_serving, waiting: f.waiting };
          renderBoard();
          break;
        case "error":
          if (f.ref === "guided" && window.MPPGuided) window.MPPGuided.error(f);
          else if (f.ref && state.pending[f.ref]) chatFailed(f.ref, f.code);
          else if (f.code === "unauthorized" || f.code === "token_expired") {
            state.token = null;
            store.removeItem("mpp.token");
          }
          break;
        default:
          if (f.type.indexOf("call.") === 0 && window.MPPCitizenCall) window.MPPCitizenCall.frame(f);
          break;
      }
    };
    ws.onclose = function () {
      var wasReady = state.wsReady;
      state.wsReady = false;
      state.ws = null;
      document.body.removeAttribute("data-live");
      Object.keys(state.pending).forEach(function (ref) { chatFailed(ref, null); });
      if (wasReady) $("conn-status").hidden = false;
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    state.retry = Math.min(state.retry + 1, 6);
    var delay = Math.min(30000, 500 * Math.pow(2, state.retry)) * (0.5 + Math.random() / 2);
    setTimeout(function () { ensureSession().then(connect, scheduleReconnect); }, delay);
  }

  // ------------------------------------------------------------------ start

  function bind() {
    bindTabs();
    $("btn-lang").addEventListener("click", function () {
      state.lang = state.lang === "en" ? "id" : "en";
      prefs.setItem("mpp.lang", state.lang);
      if (I18N[state.lang]) applyLang();  // fetched ahead at start: the switch is immediate
      else loadLang(state.lang).then(applyLang);
    });
    $("btn-contrast").addEventListener("click", function () {
      var on = !document.body.classList.contains("contrast");
      prefs.setItem("mpp.contrast", on ? "1" : "0");
      applyContrast(on);
    });
    $("btn-officer").addEventListener("click", callOfficer);
    $("chat-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = $("chat-text");
      var text = input.value;
      input.value = "";
      say(text);
    });
    $("identify-form").addEventListener("submit", identify);
    $("code-form").addEventListener("submit", verifyCode);
    $("code-again").addEventListener("click", codeAgain);
    $("my-data").addEventListener("click", downloadMyData);
    $("svc").addEventListener("change", function () {
      var id = $("svc").value;
      if (id) selectService(id, [], null);
      else { state.current = null; $("app-form").hidden = true; $("svc-info").hidden = true; $("svc-docs").hidden = true; updateTicketButton(); }
    });
    $("app-form").addEventListener("submit", submitApplication);
    $("btn-ticket-svc").addEventListener("click", function () { if (state.current) takeTicket(state.current.counter); });
    $("btn-take").addEventListener("click", function () {
      var s = state.serviceById[$("q-svc").value];
      if (s) takeTicket(s.counter);
    });
    $("btn-refresh").addEventListener("click", loadApps);
    $("complaint-form").addEventListener("submit", submitComplaint);
    $("survey-form").addEventListener("submit", submitSurvey);
    $("survey-later").addEventListener("click", closeSurvey);
    $("called-close").addEventListener("click", function () { $("called").hidden = true; document.title = t("title"); });
    $("handoff-status").tabIndex = -1;
    $("ticket").tabIndex = -1;
  }

  function start() {
    applyContrast(prefs.getItem("mpp.contrast") === "1");
    bind();
    applyLang();
    if (!I18N[state.lang]) loadLang(state.lang).then(applyLang);  // a remembered language other than the page's
    loadLang(state.lang === "en" ? "id" : "en");  // fetched ahead, so the language button answers at once
    ensureSession().then(function () {
      renderIdentity();
      connect();
      loadCatalog();
      loadApps();
      loadTickets();
      loadBoard();
      restoreHandoff();
    }, function () {
      addMessage("system", t("error_generic"));
    });
  }

  // The guided mode (citizen-guided.js) drives the same API and handoff as the page.
  window.MPP = {
    state: state, t: t, loc: loc, el: el, clear: clear, uuid: uuid, api: api,
    errorMessage: errorMessage, ensureSession: ensureSession,
    applyContrast: applyContrast, loadCatalog: loadCatalog, openSurvey: openSurvey, openHandoff: openHandoff,
    handoff: onHandoff,
    selectService: selectService, printDoc: printDoc, downloadDoc: downloadDoc,
    send: function (frame) {
      if (!state.ws || !state.wsReady) return false;
      state.ws.send(JSON.stringify(frame));
      return true;
    },
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
