/* Voice and video calls of the remote counter (WebRTC; the server only relays signalling frames).
 * One file for the citizen's 2D page, its guided mode and the officer console:
 *   MPPRtc          one RTCPeerConnection with fallbacks (no camera -> voice, no microphone -> listen only)
 *   MPPCitizenCall  the citizen's call panel: the officer's video large and a big "Tutup panggilan" button
 *   MPPOfficerCall  the console's call box: take the call with camera and microphone, mute, voice only, end
 * Untrusted text only ever reaches the DOM through textContent. Nothing is recorded. */
(function () {
  "use strict";

  var CONNECT_TIMEOUT_MS = 25000;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
      if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k] === true ? "" : String(attrs[k]));
    });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function supported() { return typeof window.RTCPeerConnection === "function" && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia); }

  /* Ask for what we want; on refusal fall back step by step, and remember what is missing. */
  function getMedia(audio, video) {
    var missing = [];
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      if (audio) missing.push("microphone");
      if (video) missing.push("camera");
      return Promise.resolve({ stream: null, missing: missing });
    }
    function ask(a, v) { return navigator.mediaDevices.getUserMedia({ audio: a, video: v ? { width: 640, height: 480 } : false }); }
    if (!audio && !video) return Promise.resolve({ stream: null, missing: [] });
    return ask(audio, video).then(function (s) { return { stream: s, missing: [] }; }, function () {
      if (video && audio) {
        return ask(true, false).then(function (s) { return { stream: s, missing: ["camera"] }; }, function () {
          return ask(false, true).then(function (s) { return { stream: s, missing: ["microphone"] }; },
            function () { return { stream: null, missing: ["microphone", "camera"] }; });
        });
      }
      return { stream: null, missing: audio ? ["microphone"] : ["camera"] };
    });
  }

  /* ------------------------------------------------------------------ one peer connection */

  function Rtc(opts) {
    this.handoffId = opts.handoffId;
    this.send = opts.send;              // function(frame) -> bool
    this.onState = opts.onState || function () {};
    this.onRemote = opts.onRemote || function () {};
    this.policy = opts.policy || "all";
    this.iceServers = opts.iceServers || [];
    this.pc = null;
    this.local = null;                  // MediaStream of our own devices
    this.missing = [];
    this.queued = [];                   // candidates that came before the remote description
    this.closed = false;
    this.state = "new";
    this.startedAt = performance.now();
    this.audioOn = true;
    this.videoOn = false;
  }

  Rtc.prototype._make = function () {
    var self = this;
    var pc = new RTCPeerConnection({ iceServers: this.iceServers, iceTransportPolicy: this.policy });
    this.pc = pc;
    pc.onicecandidate = function (ev) {
      var c = ev.candidate;
      self.send({ type: "call.ice", handoff_id: self.handoffId, candidate: c ? c.candidate : "",
                  sdp_mid: c ? c.sdpMid : null, sdp_mline_index: c ? c.sdpMLineIndex : null });
    };
    pc.ontrack = function (ev) {
      var stream = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
      self.onRemote(stream, ev.track);
    };
    pc.onconnectionstatechange = function () {
      var s = pc.connectionState;
      if (s === "connected" || s === "failed" || s === "disconnected") {
        self.send({ type: "call.status", handoff_id: self.handoffId, state: s });
      }
      if (s === "connected") { clearTimeout(self.timer); self._set("connected"); }
      else if (s === "failed") self.close("no_path", true);
    };
    this.timer = setTimeout(function () { if (self.state !== "connected") self.close("no_path", true); }, CONNECT_TIMEOUT_MS);
    return pc;
  };

  Rtc.prototype._set = function (state, info) {
    if (this.state === state && !info) return;
    this.state = state;
    this.onState(state, info || {});
  };

  Rtc.prototype._media = function () {
    var a = this.local ? this.local.getAudioTracks().length > 0 : false;
    var v = this.local ? this.local.getVideoTracks().some(function (t) { return t.enabled; }) && this.videoOn : false;
    this.send({ type: "call.media", handoff_id: this.handoffId, audio: a && this.audioOn, video: v, missing: this.missing });
  };

  /* The officer's side: open the devices, then offer audio and video both ways. */
  Rtc.prototype.start = function (audio, video) {
    var self = this;
    this._set("starting");
    return getMedia(audio, video).then(function (got) {
      if (self.closed) { if (got.stream) got.stream.getTracks().forEach(function (t) { t.stop(); }); return; }
      self.local = got.stream;
      self.missing = got.missing;
      self.videoOn = !!(got.stream && got.stream.getVideoTracks().length);
      var pc = self._make();
      var a = got.stream && got.stream.getAudioTracks()[0];
      var v = got.stream && got.stream.getVideoTracks()[0];
      var streams = got.stream ? [got.stream] : [];
      pc.addTransceiver(a || "audio", { direction: "sendrecv", streams: streams });
      pc.addTransceiver(v || "video", { direction: "sendrecv", streams: streams });
      return pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); }).then(function () {
        self.send({ type: "call.offer", handoff_id: self.handoffId, sdp: pc.localDescription.sdp });
        self._media();
        self._set("ringing", { missing: self.missing });
      });
    }).catch(function () { self.close("failed", true); });
  };

  /* The citizen's side: answer with the microphone (camera off until they turn it on). */
  Rtc.prototype.accept = function (sdp, audio) {
    var self = this;
    this._set("starting");
    var pc = this._make();
    var remote = pc.setRemoteDescription({ type: "offer", sdp: sdp });
    return Promise.all([remote, getMedia(audio, false)]).then(function (res) {
      var got = res[1];
      if (self.closed) { if (got.stream) got.stream.getTracks().forEach(function (t) { t.stop(); }); return; }
      self.local = got.stream || new MediaStream();
      self.missing = got.missing;
      var a = got.stream && got.stream.getAudioTracks()[0];
      pc.getTransceivers().forEach(function (tr) {
        var kind = tr.receiver.track && tr.receiver.track.kind;
        tr.direction = "sendrecv";
        if (kind === "audio" && a) tr.sender.replaceTrack(a);
        if (tr.sender.setStreams) tr.sender.setStreams(self.local);
      });
      self._flush();
      return pc.createAnswer().then(function (answer) { return pc.setLocalDescription(answer); }).then(function () {
        self.send({ type: "call.answer", handoff_id: self.handoffId, sdp: pc.localDescription.sdp });
        self._media();
        self._set("connecting", { missing: self.missing });
      });
    }).catch(function () { self.close("failed", true); });
  };

  Rtc.prototype._flush = function () {
    var pc = this.pc, q = this.queued;
    this.queued = [];
    q.forEach(function (c) { pc.addIceCandidate(c).catch(function () {}); });
  };

  Rtc.prototype.signal = function (f) {
    var pc = this.pc, self = this;
    if (!pc || this.closed) return;
    if (f.type === "call.answer" && pc.signalingState === "have-local-offer") {
      pc.setRemoteDescription({ type: "answer", sdp: f.sdp }).then(function () { self._flush(); self._set("connecting"); })
        .catch(function () { self.close("failed", true); });
    } else if (f.type === "call.ice") {
      var c = f.candidate ? { candidate: f.candidate, sdpMid: f.sdp_mid, sdpMLineIndex: f.sdp_mline_index } : null;
      if (!c) return;
      if (pc.remoteDescription) pc.addIceCandidate(c).catch(function () {});
      else this.queued.push(c);
    }
  };

  Rtc.prototype.setAudio = function (on) {
    this.audioOn = on;
    if (this.local) this.local.getAudioTracks().forEach(function (t) { t.enabled = on; });
    this._media();
  };

  /* Camera on: a track on the video sender that was negotiated empty (no renegotiation needed). */
  Rtc.prototype.setVideo = function (on) {
    var self = this;
    var sender = this._videoSender();
    if (!sender) return Promise.resolve(false);
    if (!on) {
      this.videoOn = false;
      var old = sender.track;
      return sender.replaceTrack(null).then(function () {
        if (old) { old.stop(); if (self.local) self.local.removeTrack(old); }
        self._media();
        return true;
      });
    }
    return getMedia(false, true).then(function (got) {
      var track = got.stream && got.stream.getVideoTracks()[0];
      if (!track) { if (self.missing.indexOf("camera") < 0) self.missing.push("camera"); self._media(); return false; }
      if (self.closed) { track.stop(); return false; }
      self.local.addTrack(track);
      self.videoOn = true;
      return sender.replaceTrack(track).then(function () { self._media(); return true; });
    });
  };

  Rtc.prototype._videoSender = function () {
    if (!this.pc) return null;
    var found = null;
    this.pc.getTransceivers().forEach(function (tr) {
      var kind = (tr.sender.track && tr.sender.track.kind) || (tr.receiver.track && tr.receiver.track.kind);
      if (kind === "video" && !found) found = tr.sender;
    });
    return found;
  };

  /* Hang up locally; ``notify`` tells the other party too. */
  Rtc.prototype.close = function (reason, notify) {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    if (notify) this.send({ type: "call.end", handoff_id: this.handoffId, reason: reason || "hangup" });
    if (this.local) this.local.getTracks().forEach(function (t) { t.stop(); });
    if (this.pc) { try { this.pc.close(); } catch (e) { /* already closed */ } }
    this._set("ended", { reason: reason || "hangup" });
  };

  /* What the tests and the figures read: the inbound video's decoded frames. */
  Rtc.prototype.inbound = function () {
    var pc = this.pc;
    if (!pc) return Promise.resolve({ state: this.state, framesDecoded: 0 });
    return pc.getStats().then(function (stats) {
      var out = { state: pc.connectionState, framesDecoded: 0, relay: false, audioPackets: 0 };
      var pairs = {};
      stats.forEach(function (s) {
        if (s.type === "inbound-rtp" && s.kind === "video") out.framesDecoded += s.framesDecoded || 0;
        if (s.type === "inbound-rtp" && s.kind === "audio") out.audioPackets += s.packetsReceived || 0;
        pairs[s.id] = s;
      });
      stats.forEach(function (s) {
        if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") {
          var local = pairs[s.localCandidateId];
          if (local && local.candidateType === "relay") out.relay = true;
        }
      });
      return out;
    });
  };

  window.MPPRtc = Rtc;
  window.MPPRtc.supported = supported;

  /* ------------------------------------------------------------------ the citizen's panel */

  var C = {
    rtc: null, handoffId: null, panel: null, requested: {}, wanted: false, remoteMedia: null, docked: false,
  };
  C.fetchIce = function () {
    var m = M();
    if (!m || !m.api) return Promise.resolve({ ice_servers: [] });
    return m.api("GET", "/calls/ice").then(function (r) { return r.ok ? r.data : { ice_servers: [] }; },
      function () { return { ice_servers: [] }; });
  };
  var store = window.sessionStorage;

  function M() { return window.MPP; }
  function T(key, vars) { return M() ? M().t(key, vars) : key; }
  function $(id) { return document.getElementById(id); }

  function panel() {
    if (C.panel) return C.panel;
    var p = el("section", { id: "call-panel", class: "call-panel", "aria-labelledby": "call-title", hidden: true });
    p.appendChild(el("h2", { id: "call-title", class: "call-title" }, T("call_title")));
    var stage = el("div", { class: "call-stage" });
    var remote = el("video", { id: "call-remote", class: "call-remote", autoplay: true, playsinline: true });
    remote.setAttribute("aria-label", T("call_officer_video"));
    stage.appendChild(remote);
    stage.appendChild(el("p", { id: "call-novideo", class: "call-novideo", hidden: true }, T("call_voice_only")));
    var mine = el("video", { id: "call-local", class: "call-local", autoplay: true, playsinline: true, hidden: true });
    mine.muted = true;
    stage.appendChild(mine);
    p.appendChild(stage);
    p.appendChild(el("p", { id: "call-status", class: "call-status", role: "status", "aria-live": "polite" }));
    p.appendChild(el("p", { id: "call-point", class: "call-point", role: "alert", hidden: true }));
    var bar = el("div", { class: "call-buttons" });
    var answer = el("button", { type: "button", id: "call-answer", class: "call-btn answer", hidden: true }, T("call_answer"));
    var hangup = el("button", { type: "button", id: "call-hangup", class: "call-btn hangup" }, T("call_hangup"));
    var cam = el("button", { type: "button", id: "call-camera", class: "call-btn", "aria-pressed": "false" }, T("call_camera_on"));
    var mic = el("button", { type: "button", id: "call-mic", class: "call-btn", "aria-pressed": "false" }, T("call_mute"));
    var dock = el("button", { type: "button", id: "call-dock", class: "call-btn ghost" }, T("call_dock"));
    [answer, hangup, mic, cam, dock].forEach(function (b) { bar.appendChild(b); });
    p.appendChild(bar);
    answer.addEventListener("click", function () { answer.hidden = true; if (C.offer) acceptOffer(C.offer); });
    hangup.addEventListener("click", function () { hangUp("hangup"); });
    mic.addEventListener("click", function () {
      if (!C.rtc) return;
      var muted = mic.getAttribute("aria-pressed") !== "true";
      C.rtc.setAudio(!muted);
      mic.setAttribute("aria-pressed", muted ? "true" : "false");
      mic.textContent = T(muted ? "call_unmute" : "call_mute");
    });
    cam.addEventListener("click", function () {
      if (!C.rtc) return;
      var on = cam.getAttribute("aria-pressed") !== "true";
      cam.disabled = true;
      C.rtc.setVideo(on).then(function (ok) {
        cam.disabled = false;
        if (on && !ok) { status(T("call_no_camera")); return; }
        cam.setAttribute("aria-pressed", on ? "true" : "false");
        cam.textContent = T(on ? "call_camera_off" : "call_camera_on");
        var local = $("call-local");
        local.hidden = !on;
        local.srcObject = on ? C.rtc.local : null;
      });
    });
    dock.addEventListener("click", function () { setDocked(!C.docked); });
    document.body.appendChild(p);
    C.panel = p;
    return p;
  }

  function setDocked(on) {
    C.docked = on;
    var p = panel();
    p.classList.toggle("docked", on);
    $("call-dock").textContent = T(on ? "call_undock" : "call_dock");
  }

  function status(text) { var s = $("call-status"); if (s) s.textContent = text; }

  function show(on) {
    var p = panel();
    p.hidden = !on;
    document.body.classList.toggle("in-call", on);
    if (on) $("call-hangup").focus();
  }

  function chatNote(key) {
    // the call's outcome also lands in the chat, which is where the conversation goes on
    var log = $("chat-log");
    if (!log) return;
    var li = el("li", { class: "msg from-system" });
    li.appendChild(el("p", { class: "text" }, T(key)));
    log.appendChild(li);
  }

  function sendFrame(f) { return M() && M().send ? M().send(f) : false; }

  function want() {
    C.requested = {};
    C.wanted = true;
    store.setItem("mpp.callwant", "1");
  }

  function request(hid) {
    if (C.requested[hid]) return;
    C.requested[hid] = true;
    if (!supported()) {
      sendFrame({ type: "call.request", handoff_id: hid, video: true, webrtc: false });
      chatNote("call_unsupported");
      toast(T("call_unsupported"));  // guided mode hides the chat: say it on top
      return;
    }
    C.handoffId = hid;
    C.wanted = true;
    var frame = { type: "call.request", handoff_id: hid, video: true };
    sendFrame(frame);
    // asked again until the officer's offer comes: a request sent while a socket was reconnecting is not lost
    clearInterval(C.asking);
    C.asking = setInterval(function () {
      if (C.rtc || !C.wanted || C.handoffId !== hid) { clearInterval(C.asking); return; }
      sendFrame(frame);
    }, 4000);
    panel();
    $("call-answer").hidden = true;
    status(T("call_waiting"));
    show(true);
    // while waiting, the 2D page keeps its chat in view; guided mode shows the call alone
    setDocked(!document.body.classList.contains("guided-on"));
  }

  function onHandoff(h) {
    if (!h || !h.id) return;
    if (h.state === "accepted" && (C.wanted || store.getItem("mpp.callwant") === "1")) request(h.id);
    if (h.state === "closed" || h.state === "expired") {
      if (C.rtc) finish("closed");
      C.requested = {};
      C.wanted = false;
      store.removeItem("mpp.callwant");
    }
  }

  function acceptOffer(f) {
    clearInterval(C.asking);
    C.offer = null;
    if (C.rtc) { var old = C.rtc; C.rtc = null; old.close("busy", false); }
    C.handoffId = f.handoff_id;
    status(T("call_connecting"));
    show(true);
    C.fetchIce().then(function (cfg) {
      var rtc = new Rtc({
        handoffId: f.handoff_id, send: sendFrame, iceServers: cfg.ice_servers || [], policy: cfg.ice_transport_policy || "all",
        onRemote: function (stream) {
          var v = $("call-remote");
          if (v.srcObject !== stream) { v.srcObject = stream; }
          var p = v.play();
          if (p && p.catch) p.catch(function () { status(T("call_tap_to_play")); });
        },
        onState: function (state, info) {
          if (state === "connected") {
            setDocked(false);  // the officer's face, large
            status(T(rtc.missing.indexOf("microphone") >= 0 ? "call_no_microphone" : "call_connected"));
            window.mppCallConnectedAt = performance.now();
          } else if (state === "ended") {
            if (C.rtc === rtc) finish(info.reason);
          } else if (info.missing && info.missing.indexOf("microphone") >= 0) {
            status(T("call_no_microphone"));
          }
        },
      });
      C.rtc = rtc;
      window.mppCall = rtc;
      var accepting = rtc.accept(f.sdp, true);  // creates the connection: queued candidates can go in now
      C.pending.forEach(function (p) { rtc.signal(p); });
      C.pending = [];
      accepting.then(function () {
        if (rtc.missing.indexOf("microphone") >= 0) status(T("call_no_microphone"));
      });
    });
  }
  C.pending = [];

  function finish(reason) {
    clearInterval(C.asking);
    var rtc = C.rtc;
    C.rtc = null;
    if (rtc && !rtc.closed) rtc.close(reason, false);
    var v = $("call-remote");
    if (v) v.srcObject = null;
    var mine = $("call-local");
    if (mine) { mine.srcObject = null; mine.hidden = true; }
    var cam = $("call-camera");
    if (cam) { cam.setAttribute("aria-pressed", "false"); cam.textContent = T("call_camera_on"); }
    show(false);
    setDocked(false);
    var point = $("call-point");
    if (point) point.hidden = true;
    clearHighlight();
    window.mppCallEnded = reason || "hangup";
    var key = reason === "no_path" || reason === "failed" ? "call_no_path" : "call_ended";
    chatNote(key);
    toast(T(key));
  }

  function toast(text) {
    var box = $("call-toast");
    if (!box) { box = el("p", { id: "call-toast", class: "call-toast", role: "alert" }); document.body.appendChild(box); }
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.hidden = true; }, 10000);
  }

  function hangUp(reason) {
    C.wanted = false;
    store.removeItem("mpp.callwant");
    if (C.rtc) { C.rtc.close(reason, true); return; }  // its "ended" state calls finish()
    if (C.handoffId) sendFrame({ type: "call.end", handoff_id: C.handoffId, reason: reason });
    finish(reason);
  }

  function onFrame(f) {
    if (f.type === "call.offer") {
      if (C.rtc) { var old = C.rtc; C.rtc = null; old.close("busy", false); }
      if (C.wanted || store.getItem("mpp.callwant") === "1") { acceptOffer(f); return; }
      // an officer calls without being asked: ring, and let the citizen decide
      C.offer = f;
      C.handoffId = f.handoff_id;
      panel();
      $("call-answer").hidden = false;
      status(T("call_incoming"));
      show(true);
      $("call-answer").focus();
    } else if (f.type === "call.answer" || f.type === "call.ice") {
      if (C.rtc) C.rtc.signal(f);
      else if (f.type === "call.ice") C.pending.push(f);
    } else if (f.type === "call.end" || (f.type === "call.state" && f.state === "ended")) {
      C.offer = null;
      if (C.rtc || (C.panel && !C.panel.hidden)) finish(f.reason || "hangup");
      C.wanted = false;
      store.removeItem("mpp.callwant");
    } else if (f.type === "call.media") {
      C.remoteMedia = f;
      var nov = $("call-novideo");
      if (nov) nov.hidden = !!f.video;
      if (f.audio === false) status(T("call_officer_muted"));
      else if (C.rtc && C.rtc.state === "connected") status(T("call_connected"));
    } else if (f.type === "call.highlight") {
      highlight(f);
    } else if (f.type === "call.state" && f.state === "unavailable") {
      chatNote("call_unsupported");
      toast(T("call_unsupported"));
    }
  }

  /* ---- shared screen: the officer points at one field ("isi yang ini, Bu") */

  function clearHighlight() {
    Array.prototype.forEach.call(document.querySelectorAll(".call-highlight"), function (n) {
      n.classList.remove("call-highlight");
      var tag = n.querySelector(".call-pointer");
      if (tag) n.removeChild(tag);
    });
  }

  function highlight(f) {
    clearHighlight();
    var point = $("call-point");
    if (!f.field) { if (point) point.hidden = true; return; }
    var m = M();
    var open = m && m.state.current && m.state.current.id;
    var ready = (!f.service_id || open === f.service_id || !m.selectService) ? Promise.resolve() : m.selectService(f.service_id, [], null);
    setDocked(true);
    Promise.resolve(ready).then(function () {
      var label = f.field;
      var svc = m && m.state.current;
      if (svc && svc.form) svc.form.forEach(function (x) { if (x.name === f.field) label = m.loc(x.label); });
      if (point) { point.textContent = T("call_point", { field: label }); point.hidden = false; }
      var input = $("f-" + f.field);
      var wrap = input && input.closest ? input.closest(".field") : null;
      var guided = $("g-input");
      if (!wrap && guided && !$("guided").hidden && $("g-label")) wrap = $("g-form");
      if (wrap) {
        wrap.classList.add("call-highlight");
        wrap.appendChild(el("p", { class: "call-pointer" }, T("call_pointer")));
        if (wrap.scrollIntoView) wrap.scrollIntoView({ block: "center" });
        if (input && input.focus) input.focus({ preventScroll: true });
      }
    });
  }

  window.MPPCitizenCall = { want: want, handoff: onHandoff, frame: onFrame, hangUp: hangUp, state: C };

  /* ------------------------------------------------------------------ the officer's call box */

  var O = { rtc: null, box: null, send: null, handoffId: null, requested: false };

  function ot(key) { return (O.box && O.box.dataset["t" + key.charAt(0).toUpperCase() + key.slice(1)]) || key; }
  function ostatus(text) { var s = document.getElementById("call-o-status"); if (s) s.textContent = text; }

  function obuttons(inCall) {
    ["call-take", "call-voice"].forEach(function (id) { var b = document.getElementById(id); if (b) b.hidden = inCall; });
    ["call-mute", "call-video", "call-end"].forEach(function (id) { var b = document.getElementById(id); if (b) b.hidden = !inCall; });
  }

  function otake(video) {
    if (O.rtc) return;
    if (!supported()) { ostatus(ot("unsupported")); return; }
    obuttons(true);
    ostatus(ot("starting"));
    fetch("/officer/calls/ice", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { ice_servers: [] }; })
      .catch(function () { return { ice_servers: [] }; })
      .then(function (cfg) {
        var rtc = new Rtc({
          handoffId: O.handoffId, send: O.send, iceServers: cfg.ice_servers || [], policy: cfg.ice_transport_policy || "all",
          onRemote: function (stream) {
            var v = document.getElementById("call-o-remote");
            v.srcObject = stream;
            var p = v.play();
            if (p && p.catch) p.catch(function () {});
          },
          onState: function (state, info) {
            if (state === "connected") ostatus(ot("connected"));
            else if (state === "ringing") {
              var mine = (info.missing || []).map(function (d) { return ot("dev" + d.charAt(0).toUpperCase() + d.slice(1)); });
              ostatus(mine.length ? ot("missing") + " " + mine.join(", ") : ot("ringing"));
            }
            else if (state === "ended") oended(info.reason);
          },
        });
        O.rtc = rtc;
        window.mppCall = rtc;
        rtc.start(true, video).then(function () {
          var local = document.getElementById("call-o-local");
          if (local && rtc.local) { local.srcObject = rtc.local; local.hidden = !rtc.videoOn; }
          var vb = document.getElementById("call-video");
          if (vb) vb.textContent = rtc.videoOn ? ot("voiceOnly") : ot("cameraOn");
        });
      });
  }

  function oended(reason) {
    var rtc = O.rtc;
    O.rtc = null;
    if (rtc && !rtc.closed) rtc.close(reason, false);
    obuttons(false);
    ["call-o-remote", "call-o-local"].forEach(function (id) { var v = document.getElementById(id); if (v) v.srcObject = null; });
    window.mppCallEnded = reason || "hangup";
    ostatus(reason === "no_path" || reason === "failed" ? ot("noPath") : ot("ended"));
  }

  function oframe(f) {
    if (!O.box || Number(f.handoff_id) !== O.handoffId) return;
    if (f.type === "call.request") {
      O.requested = true;
      O.box.classList.add("ringing");
      ostatus(ot("incoming"));
      var take = document.getElementById("call-take");
      if (take) take.focus();
    } else if (f.type === "call.state" && f.state === "unavailable") {
      ostatus(ot("unsupported"));
    } else if (f.type === "call.answer" || f.type === "call.ice") {
      if (O.rtc) O.rtc.signal(f);
    } else if (f.type === "call.end" || (f.type === "call.state" && f.state === "ended")) {
      O.box.classList.remove("ringing");
      if (O.rtc || f.type === "call.end" || f.reason === "closed") oended(f.reason);
    } else if (f.type === "call.media") {
      var devices = (f.missing || []).map(function (d) { return ot("dev" + d.charAt(0).toUpperCase() + d.slice(1)); });
      var miss = devices.length ? " · " + ot("citizenMissing") + " " + devices.join(", ") : "";
      var mic = f.audio ? "" : " · " + ot("citizenMuted");
      var m = document.getElementById("call-o-media");
      if (m) m.textContent = (f.video ? ot("citizenCamera") : ot("citizenNoCamera")) + mic + miss;
    } else if (f.type === "call.status" && f.state === "connected") {
      O.box.classList.remove("ringing");
    }
  }

  function owire(send) {
    var box = document.getElementById("call-box");
    if (!box) return null;
    O.box = box;
    O.send = send;
    O.handoffId = Number(box.dataset.handoff);
    var on = function (id, fn) { var b = document.getElementById(id); if (b) b.addEventListener("click", fn); };
    on("call-take", function () { otake(true); });
    on("call-voice", function () { otake(false); });
    on("call-end", function () { if (O.rtc) { var r = O.rtc; r.close("hangup", true); } else oended("hangup"); });
    on("call-mute", function () {
      if (!O.rtc) return;
      var b = document.getElementById("call-mute");
      var muted = b.getAttribute("aria-pressed") !== "true";
      O.rtc.setAudio(!muted);
      b.setAttribute("aria-pressed", muted ? "true" : "false");
      b.textContent = muted ? ot("unmute") : ot("mute");
    });
    on("call-video", function () {
      if (!O.rtc) return;
      var b = document.getElementById("call-video");
      var want = !O.rtc.videoOn;
      O.rtc.setVideo(want).then(function (ok) {
        var local = document.getElementById("call-o-local");
        if (local) local.hidden = !O.rtc || !O.rtc.videoOn;
        if (local && O.rtc) local.srcObject = O.rtc.local;
        b.textContent = O.rtc && O.rtc.videoOn ? ot("voiceOnly") : ot("cameraOn");
        if (want && !ok) ostatus(ot("missing") + " " + ot("devCamera"));
      });
    });
    var hl = document.getElementById("call-highlight");
    if (hl) {
      hl.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var field = document.getElementById("hl-field").value;
        send({ type: "call.highlight", handoff_id: O.handoffId, service_id: hl.dataset.service || null, field: field || null });
        ostatus(field ? ot("pointed") + " " + field : ot("pointCleared"));
      });
    }
    obuttons(false);
    return oframe;
  }

  window.MPPOfficerCall = { wire: owire, frame: oframe, state: O };
})();
