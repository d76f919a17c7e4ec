/* The kiosk and guard screens: render the agent's state document, pushed by /events (SSE). */
(function () {
  "use strict";
  var svg = function (body, cls) {
    return '<svg viewBox="0 0 64 64" class="' + (cls || "") + '" fill="none" stroke="currentColor" stroke-width="4" ' +
      'stroke-linecap="round" stroke-linejoin="round">' + body + "</svg>";
  };
  var ICONS = {
    card: svg('<rect x="6" y="14" width="52" height="36" rx="5"/><circle cx="22" cy="30" r="6"/><path d="M13 44c2-5 6-7 9-7s7 2 9 7M38 26h13M38 34h13"/>'),
    spin: svg('<path d="M32 6a26 26 0 1 1-26 26" />', "spin"),
    search: svg('<circle cx="27" cy="27" r="16"/><path d="M39 39l15 15"/>'),
    list: svg('<rect x="12" y="6" width="40" height="52" rx="4"/><path d="M20 20h24M20 30h24M20 40h16"/>'),
    printer: svg('<path d="M18 24V8h28v16"/><rect x="8" y="24" width="48" height="22" rx="4"/><path d="M18 38h28v18H18z"/>'),
    ok: svg('<circle cx="32" cy="32" r="26"/><path d="M19 33l9 9 17-19"/>'),
    bad: svg('<circle cx="32" cy="32" r="26"/><path d="M22 22l20 20M42 22L22 42"/>'),
    warn: svg('<path d="M32 6l28 50H4z"/><path d="M32 26v14M32 48v1"/>'),
    tool: svg('<path d="M42 8a12 12 0 0 0-11 16L9 46a5 5 0 0 0 9 9l22-22a12 12 0 0 0 16-11l-8 4-6-6 4-8"/>'),
    scan: svg('<path d="M8 20V8h12M44 8h12v12M56 44v12H44M20 56H8V44M8 32h48"/>')
  };
  var PHASE_ICONS = {waiting: "card", reading: "spin", verifying: "search", found: "list", printing: "printer",
                     done: "ok", refused: "bad", error: "warn", maintenance: "tool"};
  var $ = function (id) { return document.getElementById(id); };
  var screen = document.body.getAttribute("data-screen");
  var token = null;
  // every kiosk phase this page has shown, in order (the browser tests read it)
  window.screenSeen = [];

  function text(id, value) { var el = $(id); if (el) { el.textContent = value == null ? "" : String(value); } }

  function renderBar(s) {
    var link = $("link");
    if (link) { link.textContent = s.link.up ? "在线" : "离线"; link.setAttribute("data-up", s.link.up ? "true" : "false"); }
    text("backlog", "待上传 " + s.journal.pending);
    text("replay", s.replay ? "最近补传 " + s.replay.time + "（" + s.replay.answered + " 条）" : "最近补传 —");
    var faults = $("faults");
    if (faults) {
      faults.hidden = s.faults.length === 0;
      faults.textContent = s.faults.map(function (f) { return "设备故障：" + f.label + " — " + f.message; }).join("；") +
        (s.faults.length && s.help ? "。请联系：" + s.help : "");
    }
    var help = $("help");
    if (help) { help.textContent = s.help ? "需要帮助请联系：" + s.help : ""; }
  }

  function passItem(p) {
    var li = document.createElement("li");
    var no = document.createElement("strong"); no.textContent = p.pass_no;
    var facts = document.createElement("span");
    facts.textContent = "车辆 " + p.vehicles + " 台" + (p.valid_to ? "　有效期至 " + p.valid_to : "");
    li.appendChild(no); li.appendChild(facts);
    return li;
  }

  function renderKiosk(s) {
    var k = s.kiosk;
    var stage = $("stage");
    if (window.screenSeen[window.screenSeen.length - 1] !== k.phase) { window.screenSeen.push(k.phase); }
    stage.setAttribute("data-phase", k.phase);
    stage.setAttribute("data-code", k.code || "");
    $("icon").innerHTML = ICONS[PHASE_ICONS[k.phase] || "card"];
    text("title", k.title);
    var detail = k.detail;
    if ((k.phase === "error") && s.help) { detail += "（" + s.help + "）"; }
    text("detail", detail);
    var steps = $("steps");
    steps.hidden = k.phase === "waiting" || k.phase === "maintenance";
    Array.prototype.forEach.call(steps.children, function (li) {
      li.className = k.steps.indexOf(li.getAttribute("data-step")) >= 0 ? "lit" : "";
    });
    var list = $("passes");
    list.innerHTML = "";
    k.passes.forEach(function (p) { list.appendChild(passItem(p)); });
    var m = $("maintenance");
    m.hidden = !s.maintenance;
    if (s.maintenance) {
      text("maintenance-holder", s.maintenance.holder ? "维护人员：" + s.maintenance.holder : "");
      var r = s.maintenance.busy || (s.maintenance.last ? s.maintenance.last.message : "");
      text("maintenance-result", r);
      $("maintenance-result").setAttribute("data-ok", s.maintenance.last && s.maintenance.last.ok ? "true" : "false");
    }
  }

  function renderGuard(s) {
    var g = s.guard;
    var duty = $("on-duty");
    if (g.needs_sign_in) {
      duty.textContent = g.on_duty ? "当班：" + (g.on_duty.name || "") + " " + g.on_duty.badge : "无人签到：请刷工牌";
      duty.setAttribute("data-up", g.on_duty ? "true" : "false");
    } else { duty.hidden = true; }
    var last = g.last;
    var verdict = $("verdict");
    if (last) {
      verdict.setAttribute("data-verdict", last.ok ? "allow" : "refuse");
      $("verdict-icon").innerHTML = ICONS[last.ok ? "ok" : "bad"];
      text("verdict-title", last.verdict);
      text("verdict-message", last.message);
      $("verdict-facts").hidden = !last.pass_no;
      text("f-pass", last.pass_no);
      text("f-holder", last.holder || "—");
      text("f-vins", (last.vins || []).join("、"));
      text("f-validity", last.valid_from || last.valid_to ? (last.valid_from + " 至 " + last.valid_to) : "");
      text("f-guard", last.guard || "—");
      text("f-time", last.time);
    } else {
      verdict.setAttribute("data-verdict", "idle");
      $("verdict-icon").innerHTML = ICONS.scan;
      text("verdict-title", g.needs_sign_in && !g.on_duty ? "请先刷工牌签到" : "请扫描出门证");
      text("verdict-message", "将出门证二维码对准扫码枪");
    }
    var notice = $("notice");
    notice.hidden = !g.notice;
    if (g.notice) { notice.textContent = g.notice.message; }
    var body = $("exits");
    body.innerHTML = "";
    g.exits_today.forEach(function (e) {
      var tr = document.createElement("tr");
      [e.time, e.pass_no, String(e.vins.length), e.queued ? "待上传" : "已登记"].forEach(function (v, i) {
        var td = document.createElement("td"); td.textContent = v; if (i === 2) { td.className = "num"; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    text("exit-count", g.exits_today.length);
    $("exits-empty").hidden = g.exits_today.length > 0;
  }

  function render(s) {
    renderBar(s);
    if (screen === "kiosk") { renderKiosk(s); } else { renderGuard(s); }
    document.body.setAttribute("data-seq", s.seq);
  }

  function connect() {
    var source = new EventSource("/events");
    source.addEventListener("token", function (e) { token = JSON.parse(e.data); });
    source.onmessage = function (e) { $("disconnected").hidden = true; render(JSON.parse(e.data)); };
    source.onerror = function () { $("disconnected").hidden = false; };
  }

  function act(action) {
    text("maintenance-result", "处理中…");
    fetch("/maintenance/" + action, {method: "POST", headers: {"X-Maintenance-Token": token || ""}})
      .then(function (r) { return r.json(); })
      .then(function (answer) { if (answer && answer.detail) { text("maintenance-result", answer.detail); } })
      .catch(function () { text("maintenance-result", "操作失败，请重试"); });
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-action]");
    if (button) { act(button.getAttribute("data-action")); }
  });
  connect();
}());
