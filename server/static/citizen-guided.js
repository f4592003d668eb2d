/* Guided mode of the citizen page: one step at a time, big buttons, everything said aloud.
 * The same visit as the 3D hall's guided mode (world/guided.py): service -> purpose ->
 * requirements -> documents -> "Mari ikut saya" -> identity and fields with read-back ->
 * submit + queue ticket -> reminder. Repeat, back and "Panggil Petugas" are always there.
 * It uses the page's own API helpers (window.MPP); the server validates every answer. */
(function () {
  "use strict";

  var GLOSSARY = [
    ["SKCK", "Surat Keterangan Catatan Kepolisian", "police clearance certificate"],
    ["SKTM", "Surat Keterangan Tidak Mampu", "certificate of low income"],
    ["STNK", "Surat Tanda Nomor Kendaraan", "vehicle registration certificate"],
    ["BPKB", "Buku Pemilik Kendaraan Bermotor", "vehicle ownership book"],
    ["BPJS", "Badan Penyelenggara Jaminan Sosial", "social security agency"],
    ["NPWP", "Nomor Pokok Wajib Pajak", "tax ID number"],
    ["KTP", "Kartu Tanda Penduduk", "ID card"],
    ["NIK", "Nomor Induk Kependudukan", "national ID number"],
    ["NIB", "Nomor Induk Berusaha", "business ID number"],
    ["KIA", "Kartu Identitas Anak", "child ID card"],
    ["KK", "Kartu Keluarga", "family card"]
  ];
  var FIRST = ["ktp-el", "kartu-keluarga", "akta-kelahiran", "skck", "paspor"];
  var DIGITS_ID = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"];
  var DIGITS_EN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
  var WALK_MS = 2500;

  var M = null;
  var G = null; // the visit: {steps, presses, svc, answers, docs, missing, key, app, ticket}
  var voiceNoticeShown = false;

  function $(id) { return document.getElementById(id); }
  function T(key, vars) { return M.t("g_" + key, vars); }
  function en() { return M.state.lang === "en"; }

  function expand(text) {
    var col = en() ? 2 : 1;
    GLOSSARY.forEach(function (row) {
      if (text.toLowerCase().indexOf(row[col].toLowerCase()) >= 0) return;
      var re = new RegExp("(^|[^\\w-])(" + row[0] + ")(?![\\w-])");
      text = text.replace(re, "$1$2 (" + row[col] + ")");
    });
    return text;
  }

  function groupDigits(digits) { return digits.replace(/(\d{4})(?=\d)/g, "$1 "); }

  // ---- speech: the browser's own voices; text stays on screen either way

  function spoken(text) {
    var words = en() ? DIGITS_EN : DIGITS_ID;
    text = text.replace(/\s*\((?:[^()]*)\)/g, ""); // written glosses only repeat the word aloud
    text = text.replace(/\b([A-Z])-(\d{3})\b/g, function (_m, letter, num) {
      return letter + " " + num.split("").map(function (d) { return words[+d]; }).join(" ");
    });
    return text.replace(/\b\d{4}(?: \d{4}){2,3}\b/g, function (m) {
      return m.split(" ").map(function (g) { return g.split("").map(function (d) { return words[+d]; }).join(" "); }).join(", ");
    });
  }

  function speak(text) {
    if (G && text) G.spoken.push(text); // the speech hook: everything the guide says, voice or not
    var synth = window.speechSynthesis;
    var voices = synth && synth.getVoices ? synth.getVoices() : [];
    var want = en() ? "en" : "id";
    var voice = null;
    for (var i = 0; i < voices.length; i++) {
      if ((voices[i].lang || "").toLowerCase().indexOf(want) === 0) { voice = voices[i]; break; }
    }
    if (!synth || !voice) {
      if (!voiceNoticeShown) { voiceNoticeShown = true; $("g-notice").hidden = false; }
      return;
    }
    synth.cancel();
    var u = new window.SpeechSynthesisUtterance(spoken(text));
    u.voice = voice;
    u.lang = voice.lang;
    u.rate = 0.8; // slower for guided mode
    synth.speak(u);
  }

  // ---- steps

  function show(step) {
    G.steps.push(step);
    render();
  }

  function current() { return G.steps[G.steps.length - 1]; }

  function render() {
    var step = current();
    $("g-title").textContent = step.title || "";
    $("g-text").textContent = step.text || "";
    var ticket = $("g-ticket");
    ticket.hidden = !step.ticket;
    ticket.textContent = step.ticket || "";
    var err = $("g-error");
    err.hidden = !step.error;
    err.textContent = step.error || "";
    var form = $("g-form");
    form.hidden = !step.input;
    if (step.input) {
      $("g-label").textContent = step.input.label;
      var inp = $("g-input");
      inp.value = step.input.value || "";
      inp.setAttribute("inputmode", step.input.numeric ? "numeric" : "text");
      inp.setAttribute("autocomplete", step.input.autocomplete || "off");
    }
    var box = $("g-buttons");
    M.clear(box);
    (step.buttons || []).forEach(function (b) {
      var btn = M.el("button", { type: "button", "class": "g-btn" + (b.primary ? " primary" : "") }, b.label);
      btn.setAttribute("data-action", b.action);
      btn.addEventListener("click", function () { press(b); });
      box.appendChild(btn);
    });
    $("g-back").disabled = G.steps.length < 2;
    $("g-title").focus();
    if (step.input) $("g-input").focus();
    var said = [step.text, step.error].filter(Boolean).join(" ");
    G.lastSpoken = said;
    speak(said);
    if (step.auto) {
      var mine = step;
      setTimeout(function () { if (G && current() === mine) mine.auto(); }, WALK_MS);
    }
  }

  function press(b) {
    if (!G || G.busy) return;
    G.presses += 1;
    b.run();
  }

  function btn(label, run, primary, action) { return { label: label, run: run, primary: !!primary, action: action || label }; }

  function greet() {
    var buttons = FIRST.filter(function (id) { return M.state.serviceById[id]; }).map(function (id) {
      return btn(M.loc(M.state.serviceById[id].short_name || M.state.serviceById[id].name), function () { chooseService(id); }, false, "service:" + id);
    });
    buttons.push(btn(T("other"), more, false, "more"));
    return { kind: "greet", title: T("greet_title"), text: T("greet"), buttons: buttons };
  }

  function more() {
    var all = M.state.services.slice().sort(function (a, b) { return M.loc(a.name).localeCompare(M.loc(b.name)); });
    show({
      kind: "more", title: T("other"), text: T("more"),
      buttons: all.map(function (s) { return btn(M.loc(s.name), function () { chooseService(s.id); }, false, "service:" + s.id); })
    });
  }

  function chooseService(id) {
    G.busy = true;
    M.api("GET", "/services/" + encodeURIComponent(id)).then(function (r) {
      G.busy = false;
      if (!r.ok) { showError(M.errorMessage(r.data)); return; }
      G.svc = r.data;
      G.answers = {};
      G.typed = {};
      G.checking = false;
      G.missing = [];
      G.key = M.uuid(); // one key per visit: a retry never submits twice
      var purpose = purposeField();
      if (purpose) {
        show({
          kind: "purpose", title: M.loc(G.svc.name), text: T("purpose"),
          buttons: purpose.options.map(function (o) {
            return btn(M.loc(o.label), function () { G.answers[purpose.name] = o.value; requirements(); }, false, "option:" + o.value);
          })
        });
      } else {
        requirements();
      }
    });
  }

  function purposeField() {
    var f = (G.svc.form || []).filter(function (x) { return x.type === "select" && /reason|purpose|jenis|keperluan/.test(x.name); })[0];
    return f || null;
  }

  function checklist() {
    var purpose = purposeField();
    var why = purpose ? G.answers[purpose.name] : null;
    var whyLabel = "";
    if (purpose && why) {
      purpose.options.forEach(function (o) { if (o.value === why) whyLabel = (o.label.id + " " + o.label.en).toLowerCase(); });
    }
    return (G.svc.documents || []).filter(function (d) {
      if (d.required) return true;
      var text = (d.label.id + " " + d.label.en).toLowerCase();
      // an optional document "for a lost card" belongs to the visit only when the card was lost
      return !!why && (text.indexOf(why) >= 0 || whyLabel.split(/\s+/).some(function (w) { return w.length > 3 && text.indexOf(w) >= 0; }));
    }).map(function (d) { return expand(M.loc(d.label)); });
  }

  function requirements() {
    var docs = checklist();
    G.docs = docs;
    show({
      kind: "requirements", title: T("req_title"),
      text: T("req", { service: M.loc(G.svc.name) }) + " " + docs.join("; ") + ".",
      buttons: [btn(T("next"), documents, true, "next")]
    });
  }

  function documents() {
    show({
      kind: "documents", title: T("docs_title"), text: T("docs"),
      buttons: [
        btn(T("docs_all"), function () { G.missing = []; walk(); }, true, "all_docs"),
        btn(T("docs_each"), function () { G.missing = []; oneDoc(0); }, false, "each_doc")
      ]
    });
  }

  function oneDoc(i) {
    if (i >= G.docs.length) {
      if (G.missing.length) {
        show({ kind: "missing", title: T("docs_title"), text: T("missing", { docs: G.missing.join("; ") }),
               buttons: [btn(T("next"), walk, true, "next")] });
      } else {
        walk();
      }
      return;
    }
    var doc = G.docs[i];
    show({
      kind: "doc", title: T("docs_title"), text: T("doc", { doc: doc }),
      buttons: [
        btn(T("have"), function () { oneDoc(i + 1); }, true, "have"),
        btn(T("havenot"), function () { G.missing.push(doc); oneDoc(i + 1); }, false, "havenot")
      ]
    });
  }

  function walk() {
    var agency = "";
    M.state.agencies.forEach(function (a) { if (a.id === G.svc.agency) agency = M.loc(a.name); });
    var step = {
      kind: "walk", title: T("walk_title"), text: T("walk", { n: G.svc.counter, agency: agency }),
      buttons: [], auto: function () { G.steps.pop(); identity(); }
    };
    show(step); // like the hall's autopilot: it moves on by itself, not a press
  }

  function knownIdentity() {
    var st = M.state;
    if (st.nik && st.identity && st.identity.name) return { nik: st.nik, full_name: st.identity.name };
    return null;
  }

  function identity() {
    var known = knownIdentity();
    var form = G.svc.form || [];
    var wantsNik = form.some(function (f) { return f.name === "nik"; });
    var wantsName = form.some(function (f) { return f.name === "full_name"; });
    if (known && (wantsNik || wantsName)) {
      show({
        kind: "identity", title: T("review_title"),
        text: T("identity", { nik: groupDigits(known.nik), name: known.full_name }),
        buttons: [
          btn(T("yes"), function () {
            if (wantsNik) G.answers.nik = known.nik;
            if (wantsName) G.answers.full_name = known.full_name;
            nextField();
          }, true, "yes"),
          btn(T("no"), function () { nextField(true); }, false, "no")
        ]
      });
    } else {
      nextField();
    }
  }

  function nextField(retypeIdentity) {
    var form = G.svc.form || [];
    var f = form.filter(function (x) { return x.required && !(x.name in G.answers); })[0];
    if (retypeIdentity) f = form.filter(function (x) { return x.name === "nik"; })[0] || f;
    if (!f) { if (Object.keys(G.typed).length) check(); else review(); return; }
    askField(f, null);
  }

  function askField(f, error) {
    var label = expand(M.loc(f.label));
    if (f.type === "select") {
      show({
        kind: "field", field: f.name, title: label, text: T("field", { label: label }), error: error,
        buttons: f.options.map(function (o) {
          return btn(M.loc(o.label), function () { G.answers[f.name] = o.value; nextField(); }, false, "option:" + o.value);
        })
      });
      return;
    }
    show({
      kind: "field", field: f.name, title: label, text: T("field", { label: label }), error: error,
      input: { label: label, value: G.answers[f.name] || "", numeric: f.type === "nik" || /number|nomor/.test(f.name),
               enter: function (value) { typed(f, value); } }
    });
  }

  // Typed values are read back once, all together, on the step that sends (one confirmation).
  function typed(f, value) {
    value = value.trim();
    if (f.type === "nik" || /number/.test(f.name)) value = value.replace(/[\s.-]+/g, "");
    G.answers[f.name] = value;
    G.typed[f.name] = true;
    if (G.checking) { check(); return; }
    nextField();
  }

  function shownValue(value) { return /^\d{8,}$/.test(value) ? groupDigits(value) : value; }

  function check() {
    G.checking = true;
    var form = G.svc.form || [];
    var fields = form.filter(function (f) { return G.typed[f.name]; });
    var lines = fields.map(function (f) { return M.loc(f.label) + ": " + shownValue(String(G.answers[f.name])); });
    var buttons = [btn(T("check_send"), submit, true, "submit")];
    fields.forEach(function (f) {
      buttons.push(btn(T("change", { label: M.loc(f.label) }), function () { askField(f, null); }, false, "edit:" + f.name));
    });
    show({ kind: "check", title: T("check_title"), text: T("check", { items: lines.join("; ") }), buttons: buttons });
  }

  function review() {
    show({
      kind: "review", title: T("review_title"), text: T("review", { service: M.loc(G.svc.name) }),
      buttons: [btn(T("submit"), submit, true, "submit")]
    });
  }

  // The second factor, one big field at a time: a contact (only used for a NIK not registered yet),
  // then the 6-digit code the server sent to the NIK's registered contact. Only the code links the visit.
  function needsProof() {
    return !G.app && !M.state.identity && !!G.answers.nik;
  }

  function askContact(error) {
    var given = G.contact || G.answers.phone || G.answers.email;
    if (given && !error) { G.contact = given; requestCode(); return; }
    show({
      kind: "contact", field: "contact", title: T("contact_title"), text: T("contact"), error: error,
      input: { label: T("contact_title"), value: G.contact || "", numeric: false,
               enter: function (value) { G.contact = value.trim(); requestCode(); } }
    });
  }

  function requestCode() {
    var body = { nik: G.answers.nik, name: G.answers.full_name || (M.state.identity || {}).name || "" };
    if (G.contact) body.contact = G.contact;
    M.api("POST", "/sessions/identify", body).then(function (r) {
      if (!r.ok) {
        var d = r.data && r.data.detail;
        if (d && d.code === "invalid_contact") { askContact(M.errorMessage(r.data)); return; }
        var nikField = (G.svc.form || []).filter(function (x) { return x.name === "nik"; })[0];
        if (d && d.code === "invalid_nik" && nikField) { G.typed.nik = true; askField(nikField, M.errorMessage(r.data)); return; }
        failed(M.errorMessage(r.data));
        return;
      }
      G.challenge = r.data.challenge_id;
      askCode(null);
    });
  }

  function askCode(error) {
    show({
      kind: "code", field: "code", title: T("code_title"), text: T("code"), error: error,
      input: { label: T("code_title"), value: "", numeric: true, autocomplete: "one-time-code",
               enter: function (value) { verifyCode(value.replace(/\s+/g, "")); } },
      buttons: [btn(T("code_again"), function () { requestCode(); }, false, "code_again")]
    });
  }

  function verifyCode(code) {
    M.api("POST", "/sessions/verify", { challenge_id: G.challenge, code: code }).then(function (r) {
      if (!r.ok) {
        if (r.status === 429) { failed(M.errorMessage(r.data)); return; }
        askCode(M.errorMessage(r.data) + " " + T("code_readback", { code: code.split("").join(" ") }));
        return;
      }
      M.state.identity = { citizen: r.data.citizen, name: r.data.name };
      M.state.nik = G.answers.nik;
      submit();
    });
  }

  function submit() {
    if (needsProof()) { askContact(null); return; }
    G.busy = true;
    show({ kind: "sending", title: T("review_title"), text: T("sending"), buttons: [] });
    var body = { service_id: G.svc.id, data: G.answers, submit: true };
    var sent = G.app ? Promise.resolve({ ok: true, data: G.app }) :
      M.api("POST", "/applications", body, { "Idempotency-Key": G.key });
    sent.then(function (r) {
      if (!r.ok) {
        G.busy = false;
        G.steps.pop();
        var fields = r.data && r.data.detail && r.data.detail.fields;
        var name = fields ? Object.keys(fields)[0] : null;
        var f = name ? (G.svc.form || []).filter(function (x) { return x.name === name; })[0] : null;
        var code = r.data && r.data.detail && r.data.detail.code;
        if (f) {
          delete G.answers[f.name];
          G.typed[f.name] = true;
          askField(f, M.loc(fields[name]));
        } else if (code === "identity_mismatch" || r.status === 403) {
          mismatch(M.errorMessage(r.data));
        } else {
          failed(r.status >= 400 && r.status < 500 ? M.errorMessage(r.data) : T("failed"));
        }
        return null;
      }
      G.app = r.data;
      return M.api("POST", "/queue/tickets", { counter: G.svc.counter }).then(function (t) {
        G.busy = false;
        G.steps.pop();
        if (!t.ok && t.status !== 409) { failed(M.errorMessage(t.data)); return; }
        G.ticket = t.ok ? t.data : null;
        // 409: the visitor already holds today's ticket at this counter; show that one
        var code = t.ok ? t.data.code : ((t.data && t.data.detail && t.data.detail.ticket) || "");
        show({
          kind: "ticket", title: T("ticket_title"), ticket: code,
          text: T("ticket", { code: code, n: G.svc.counter, tracking: G.app.tracking_number }),
          buttons: [btn(T("next"), remind, true, "next")]
        });
      });
    });
  }

  // Retrying the same data cannot help: the officer, or the fields the visitor can fix.
  function mismatch(message) {
    var buttons = [btn(T("officer_help"), function () { callOfficer(); }, true, "officer")];
    (G.svc.form || []).filter(function (f) { return f.name === "full_name" || f.name === "nik"; }).forEach(function (f) {
      buttons.push(btn(T("change", { label: M.loc(f.label) }), function () { G.checking = true; askField(f, null); },
                       false, "edit:" + f.name));
    });
    show({ kind: "mismatch", title: T("mismatch_title"), text: message + " " + T("mismatch"), buttons: buttons });
  }

  function failed(message) {
    show({ kind: "failed", title: T("review_title"), text: T("failed"), error: message,
           buttons: [btn(T("retry"), submit, true, "retry")] });
  }

  function remind() {
    var text = G.docs.length ? T("remind", { docs: G.docs.join("; ") }) : T("remind_none", { n: G.svc.counter });
    show({ kind: "remind", title: T("remind_title"), text: text, buttons: [btn(T("done"), exit, true, "done")] });
  }

  function callOfficer() {
    var st = M.state;
    if (st.handoff && (st.handoff.state === "pending" || st.handoff.state === "accepted")) {
      officerStep(st.handoff);
      return;
    }
    // the officer reads what the guide said so far
    var said = G.steps.map(function (s) { return { role: "assistant", text: (s.title || "") + ": " + (s.text || "") }; });
    M.openHandoff(said.slice(-50), G.svc && G.svc.id).then(function (r) {
      if (r.ok) officerStep(M.state.handoff || { state: "pending" });
      else showError(M.errorMessage(r.data));
    });
  }

  var OFFICER_KINDS = { officer: 1, officer_says: 1 };

  function backFromOfficer() {
    return btn(T("back_to_step"), function () {
      while (G.steps.length > 1 && OFFICER_KINDS[current().kind]) G.steps.pop();
      render();
    }, false, "back_to_step");
  }

  // "Connected to officer X at counter N" (or "being called"): a step of its own, large and spoken.
  function officerStep(h) {
    if (!G) return;
    var who = h.officer || "";
    var text = h.state === "accepted" ?
      (who ? T("officer_connected", { who: who, n: h.counter || (G.svc && G.svc.counter) || "-" }) : T("officer_connected_plain")) :
      (h.state === "closed" ? T("officer_closed") : T("officer_called"));
    var step = { kind: "officer", title: T("officer_title"), text: text, buttons: [backFromOfficer()] };
    if (current() && current().kind === "officer") G.steps.pop();
    show(step);
  }

  function officerSaid(text, who) {
    if (!G || $("guided").hidden) return;
    var title = who ? T("officer_title_who", { who: who }) : T("officer_title");
    show({ kind: "officer_says", title: title, text: text, buttons: [backFromOfficer()] });
  }

  function showError(message) {
    var step = current();
    step.error = message;
    render();
  }

  // ---- entering and leaving

  function enter() {
    G = { steps: [], presses: 0, svc: null, answers: {}, typed: {}, checking: false, docs: [], missing: [], key: null,
          app: null, ticket: null, busy: false, spoken: [] };
    window.mppGuided = G; // tests and the press counter read it
    document.body.classList.add("guided-on");
    var survey = $("survey");
    if (survey && survey.open) { M.state.deferredSurvey = M.state.surveyFor; survey.close(); } // one thing at a time
    M.applyContrast(true);
    $("guided").hidden = false;
    $("main").hidden = true;
    var ready = M.state.services.length ? Promise.resolve() : M.loadCatalog();
    ready.then(function () { show(greet()); });
  }

  function exit() {
    if (window.speechSynthesis) window.speechSynthesis.cancel();
    document.body.classList.remove("guided-on");
    $("guided").hidden = true;
    $("main").hidden = false;
    var later = M.state.deferredSurvey;
    M.state.deferredSurvey = null;
    if (later) M.openSurvey(later);
  }

  function bind() {
    $("btn-guided").addEventListener("click", enter);
    $("g-exit").addEventListener("click", exit);
    $("g-repeat").addEventListener("click", function () { if (G) { G.presses += 1; speak(G.lastSpoken || ""); render(); } });
    $("g-back").addEventListener("click", function () {
      if (!G || G.busy || G.steps.length < 2) return;
      G.presses += 1;
      G.steps.pop();
      while (G.steps.length > 1 && (current().kind === "walk" || current().kind === "sending")) G.steps.pop();
      render();
    });
    $("g-officer").addEventListener("click", function () {
      if (!G) return;
      G.presses += 1;
      callOfficer();
    });
    $("g-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var step = G && current();
      if (!step || !step.input || G.busy) return;
      var value = $("g-input").value;
      if (!value.trim()) return;
      G.presses += 1;
      step.input.enter(value);
    });
    if (/[?&]guided=1\b/.test(window.location.search)) M.ensureSession().then(enter);
  }

  // The page calls this on a live document.event: a visitor in guided mode hears that the document is ready.
  window.MPPGuidedDocument = function (f) {
    if (!G || f.state !== "issued") return;
    show({ kind: "document", title: T("doc_title"), text: T("doc_ready"),
           buttons: [btn(T("doc_print"), function () { M.printDoc(f.tracking_number); }, true, "doc:print"),
                     btn(T("done"), exit, false, "done")] });
  };

  function start() {
    M = window.MPP;
    if (!M) return;
    bind();
    // citizen.js tells guided mode about the officer: their words and the handoff's state are steps
    window.MPPGuided = {
      officerSaid: officerSaid,
      handoff: function (h) { if (G && !$("guided").hidden && h && h.state !== "pending") officerStep(h); },
    };
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
