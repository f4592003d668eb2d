/* Officer console: live updates over /officer/ws. Untrusted text is only ever set with textContent;
   HTML fragments come from the server, which escapes them (Jinja autoescape). */
(function () {
  "use strict";
  var body = document.body;
  var status = document.getElementById("live-status");

  function announce(text) {
    if (!status) return;
    status.textContent = text;
    status.classList.add("show");
    window.clearTimeout(announce.timer);
    announce.timer = window.setTimeout(function () { status.classList.remove("show"); }, 6000);
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k] == null ? "" : String(values[k]); });
  }

  function refresh(el) {
    if (!el || !el.dataset.src) return Promise.resolve();
    return fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (r.status === 401) { window.location.href = "/officer/login"; } return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null && html !== undefined) el.innerHTML = html; });
  }

  function appendMessage(role, who, text) {
    var log = document.getElementById("chat-log");
    if (!log) return;
    var li = document.createElement("li");
    li.className = "msg from-" + (role === "officer" ? "officer" : role === "citizen" ? "citizen" : "system");
    var w = document.createElement("span");
    w.className = "who";
    var label = role === "officer" ? log.dataset.labelOfficer : log.dataset.labelCitizen;
    w.textContent = label + (who ? " · " + who : "");
    var t = document.createElement("span");
    t.className = "text";
    t.textContent = text;
    li.appendChild(w);
    li.appendChild(t);
    log.appendChild(li);
    li.scrollIntoView({ block: "nearest" });
  }

  var handlers = {
    "application.new": function (f) {
      var rows = document.getElementById("inbox-rows");
      if (rows) { refresh(rows); announce(fill(rows.dataset.msgNew, { t: f.tracking_number })); }
    },
    "application.changed": function (f) {
      var rows = document.getElementById("inbox-rows");
      if (rows) { refresh(rows); announce(fill(rows.dataset.msgChanged, { t: f.tracking_number, s: f.state })); }
    },
    "board.update": function (f) {
      var card = document.querySelector('[data-counter="' + Number(f.counter) + '"]');
      if (!card) return;
      var now = card.querySelector(".now-serving");
      var waiting = card.querySelector(".waiting");
      if (now) now.textContent = f.now_serving || "—";
      if (waiting) waiting.textContent = String(f.waiting);
    },
    "handoff.new": function (f) {
      var list = document.getElementById("remote-list");
      var pill = document.getElementById("handoff-count");
      if (pill) { pill.hidden = false; pill.textContent = String((Number(pill.textContent) || 0) + 1); }
      if (list) { refresh(list); announce(fill(list.dataset.msgNew, { n: f.handoff_id })); }
    },
    "handoff.changed": function () { refresh(document.getElementById("remote-list")); },
    "handoff.message": function (f) {
      var conv = document.querySelector(".conversation");
      if (conv && Number(conv.dataset.handoff) === Number(f.handoff_id)) {
        appendMessage(f.role, f.who, f.text);
      }
    }
  };

  var retry = 1000;
  var live = null;
  var callFrame = null;

  /* Call signalling goes out on the same authenticated socket (see call.js). */
  function send(frame) {
    if (!live || live.readyState !== 1) return false;
    live.send(JSON.stringify(frame));
    return true;
  }

  function connect() {
    var proto = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(proto + window.location.host + "/officer/ws");
    live = ws;
    ws.onopen = function () { retry = 1000; body.dataset.liveReady = "1"; };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      var h = handlers[f.type];
      if (h) h(f);
      else if (typeof f.type === "string" && f.type.indexOf("call.") === 0 && callFrame) callFrame(f);
      else if (f.type === "error" && f.message) announce(f.message);
    };
    ws.onclose = function (ev) {
      body.dataset.liveReady = "0";
      if (ev.code === 4001 || ev.code === 4401) { window.location.href = "/officer/login"; return; }
      if (ev.code === 4002) { window.location.reload(); return; }
      announce(body.dataset.offline);
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  function wireSay() {
    var form = document.getElementById("say-form");
    if (!form) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = document.getElementById("say-text");
      if (!input.value.trim()) return;
      fetch(form.action, {
        method: "POST", credentials: "same-origin", body: new FormData(form),
        headers: { Accept: "application/json" }
      }).then(function (r) {
        if (r.status === 401) { window.location.href = "/officer/login"; return null; }
        return r.ok ? r.json() : null;
      }).then(function (data) {
        if (data && data.entry) { appendMessage("officer", data.entry.who, data.entry.text); input.value = ""; input.focus(); }
      });
    });
    var log = document.getElementById("chat-log");
    if (log && log.lastElementChild) log.lastElementChild.scrollIntoView({ block: "nearest" });
    Array.prototype.forEach.call(document.querySelectorAll(".canned-reply"), function (b) {
      b.addEventListener("click", function () {
        var input = document.getElementById("say-text");
        input.value = b.dataset.text;  // in the citizen's language; the officer may edit before sending
        input.focus();
      });
    });
  }

  function wireLoginDelay() {
    var form = document.querySelector("form[data-retry]");
    if (!form) return;
    var left = Number(form.dataset.retry) || 0;
    var btn = form.querySelector("button[type=submit]");
    if (!left || !btn) return;
    var label = btn.textContent;
    btn.disabled = true;
    var tick = function () {
      if (left <= 0) { btn.disabled = false; btn.textContent = label; return; }
      btn.textContent = label + " (" + left + ")";
      left -= 1;
      window.setTimeout(tick, 1000);
    };
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireLoginDelay();
    wireSay();
    if (window.MPPOfficerCall) callFrame = window.MPPOfficerCall.wire(send);
    if (body.dataset.live === "1") connect();
  });
})();
