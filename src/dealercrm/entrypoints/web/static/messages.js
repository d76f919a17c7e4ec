// The thread page's live updates: one WebSocket (/live) that first catches up from the last
// message shown, then delivers new, edited and deleted messages. Messages are inserted as the
// server renders them (/messages/messages/<id>), so no markup is built here.
(function () {
  "use strict";
  var thread = document.getElementById("thread");
  if (!thread) { return; }
  var conversation = thread.getAttribute("data-conversation");
  var last = parseInt(thread.getAttribute("data-last") || "0", 10);
  var retry = 1000;

  function place(id, html) {
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var item = holder.firstElementChild;
    if (!item) { return; }
    var existing = document.getElementById("m-" + id);
    if (existing) { existing.replaceWith(item); } else { thread.appendChild(item); }
    var empty = document.getElementById("thread-empty");
    if (empty) { empty.remove(); }
    item.scrollIntoView({block: "nearest"});
  }

  function show(message, change) {
    if (String(message.conversation_id) !== conversation) { return; }
    if (change === "posted" && document.getElementById("m-" + message.id)) { return; }
    fetch("/messages/messages/" + message.id, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { if (html) { place(message.id, html); } });
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/live?after=" + last);
    socket.onopen = function () { retry = 1000; document.body.setAttribute("data-live", "open"); };
    socket.onmessage = function (e) {
      var event = JSON.parse(e.data);
      if (event.type === "message") {
        if (event.change === "posted") { last = Math.max(last, event.message.id); }
        show(event.message, event.change);
      }
    };
    socket.onclose = function (e) {
      document.body.setAttribute("data-live", "closed");
      if (e.code === 4401 || e.code === 4403) { return; }  // no session: the next page load asks to log in
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  connect();
})();
