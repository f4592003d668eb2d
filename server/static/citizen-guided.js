/* Guided mode of the citizen page: a renderer of the server's guided.step frames.
 * The server drives the visit (assistant/dialogue/guided.py, the same loop as the 3D hall's guided mode):
 * each frame carries the text, the big choices, the field asked, what to speak and the press count.
 * This file only draws the step, speaks it, and sends the visitor's answer back as guided.choose;
 * it keeps no flow and no texts of its own. */
(function () {
  "use strict";

  var WALK_MS = 2500; // like the hall's autopilot: the walk ends by itself, not a press
  var STORE = "mpp.guided";

  var M = null;
  var G = null; // {step, steps, presses, spoken, busy, conversation}
  var voiceNoticeShown = false;

  function $(id) { return document.getElementById(id); }

  // ---- speech: the browser's own voices; the text stays on screen either way

  function spoken(text) {
    // long numbers are read digit by digit, in their groups of four ("3510 0112" -> "3 5 1 0, 0 1 1 2")
    text = text.replace(/\b([A-Z])-(\d{3})\b/g, function (_m, letter, num) { return letter + " " + num.split("").join(" "); });
    return text.replace(/\b\d{4}(?: \d{4}){1,3}\b/g, function (m) {
      return m.split(" ").map(function (g) { return g.split("").join(" "); }).join(", ");
    });
  }

  function speak(text) {
    if (!G || !text) return;
    G.spoken.push(text); // the speech hook: everything the guide says, voice or not
    var synth = window.speechSynthesis;
    var voices = synth && synth.getVoices ? synth.getVoices() : [];
    var want = M.state.lang === "en" ? "en" : "id";
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

  // ---- the wire

  function send(frame) {
    frame.ref = "guided"; // refusals come back with it
    if (!M.send(frame)) return false;
    if (frame.type === "guided.choose") G.busy = true;
    return true;
  }

  function choose(id, auto) {
    if (!G || !G.step || G.busy) return;
    send({ type: "guided.choose", step_id: G.step.step_id, choice: id, auto: !!auto });
  }

  function start() {
    if (!G) return;
    var frame = { type: "guided.start", lang: M.state.lang === "en" ? "en" : "id" };
    if (G.conversation) frame.conversation_id = G.conversation;
    G.busy = false;
    if (!send(frame)) setTimeout(start, 300); // the socket is not welcomed yet
  }

  function onStep(f) {
    if (!G || $("guided").hidden) return;
    G.busy = false;
    G.retries = 0;
    G.conversation = f.conversation_id;
    try { window.sessionStorage.setItem(STORE, f.conversation_id); } catch (e) { /* private mode */ }
    if (f.handoff_id && M.handoff && (!M.state.handoff || M.state.handoff.id !== f.handoff_id)) {
      M.handoff({ handoff_id: f.handoff_id, state: "pending" }); // the page's handoff card and calls know it
    }
    G.step = f;
    G.presses = f.presses;
    G.steps.push(f);
    render();
    if (f.final) exit();
  }

  function onError(f) {
    // a choice that no longer fits (the officer spoke meanwhile): take the server's current step again;
    // a visit that cannot be resumed (not this session's): start a new one
    if (!G) return;
    G.busy = false;
    if (!/^guided_/.test(f.code || "") || f.code === "guided_failed") G.conversation = null;
    G.retries = (G.retries || 0) + 1;
    if (G.retries <= 3) setTimeout(start, 300 * G.retries); // a few calm tries; the tools stay usable
  }

  // ---- drawing

  function render() {
    var step = G.step;
    $("g-title").textContent = step.title || "";
    $("g-text").textContent = (step.note && step.tone !== "problem" ? step.note + "\n" : "") + (step.text || "");
    var ticket = $("g-ticket");
    ticket.hidden = !step.ticket;
    ticket.textContent = step.ticket || "";
    var err = $("g-error");
    var problem = step.tone === "problem" && !!step.note;
    err.hidden = !problem;
    err.textContent = problem ? step.note : "";
    var form = $("g-form");
    var field = step.field;
    form.hidden = !field;
    if (field) {
      $("g-label").textContent = field.label;
      var inp = $("g-input");
      inp.value = field.prefill || "";
      inp.placeholder = field.hint || "";
      inp.setAttribute("inputmode", field.numeric ? "numeric" : "text");
      inp.setAttribute("autocomplete", field.autocomplete || "off");
      inp.required = !field.optional;
    }
    var box = $("g-buttons");
    M.clear(box);
    (step.choices || []).forEach(function (c) {
      var btn = M.el("button", { type: "button", "class": "g-btn" + (c.primary ? " primary" : "") }, c.label);
      btn.setAttribute("data-action", c.id);
      btn.addEventListener("click", function () { pressed(c.id); });
      box.appendChild(btn);
    });
    var tools = {};
    (step.tools || []).forEach(function (c) { tools[c.id] = c.label; });
    [["g-repeat", "repeat"], ["g-back", "back"], ["g-officer", "officer"]].forEach(function (pair) {
      var b = $(pair[0]);
      if (tools[pair[1]]) b.textContent = tools[pair[1]];
      b.disabled = !tools[pair[1]];
    });
    $("g-title").focus();
    if (field && !field.optional) $("g-input").focus();
    speak(step.speak);
    if (step.kind === "walk") {
      var mine = step;
      setTimeout(function () { if (G && G.step === mine && !G.busy) choose("arrived", true); }, WALK_MS);
    }
  }

  function pressed(id) {
    if (id === "officer" && window.MPPCitizenCall) window.MPPCitizenCall.want();
    if (id === "doc:print" && G.step.tracking) M.printDoc(G.step.tracking); // printing is this device's part
    choose(id, false);
  }

  // ---- entering and leaving

  function enter() {
    var previous = null;
    try { previous = window.sessionStorage.getItem(STORE); } catch (e) { previous = null; }
    G = { step: null, steps: [], presses: 0, spoken: [], busy: false, conversation: previous };
    window.mppGuided = G; // tests and the press counter read it
    document.body.classList.add("guided-on");
    var survey = $("survey");
    if (survey && survey.open) { M.state.deferredSurvey = M.state.surveyFor; survey.close(); } // one thing at a time
    M.applyContrast(true);
    $("guided").hidden = false;
    $("main").hidden = true;
    start();
  }

  function exit() {
    if (window.speechSynthesis) window.speechSynthesis.cancel();
    try { window.sessionStorage.removeItem(STORE); } catch (e) { /* private mode */ }
    if (G) G.conversation = null;
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
    $("g-repeat").addEventListener("click", function () { choose("repeat"); });
    $("g-back").addEventListener("click", function () { choose("back"); });
    $("g-officer").addEventListener("click", function () {
      if (window.MPPCitizenCall) window.MPPCitizenCall.want(); // face to face once accepted, when the device can
      choose("officer");
    });
    $("g-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!G || !G.step || !G.step.field || G.busy) return;
      var value = $("g-input").value;
      if (!value.trim()) return;
      send({ type: "guided.choose", step_id: G.step.step_id, value: value });
    });
    if (/[?&]guided=1\b/.test(window.location.search)) M.ensureSession().then(enter);
  }

  function boot() {
    M = window.MPP;
    if (!M) return;
    bind();
    // citizen.js hands over the frames of the visit, and says when the socket is welcomed again
    window.MPPGuided = {
      step: onStep,
      error: onError,
      welcome: function () { if (G && G.step && !$("guided").hidden) start(); }, // a reconnect, not the first hello
    };
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
