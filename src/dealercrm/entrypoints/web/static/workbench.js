// The workbench's live updates: the same /live WebSocket as the thread page, asking for no
// catch-up (the page was just rendered). A "workbench" event — a step opened for me, a receipt
// to confirm — makes htmx reload the to-do list (hx-trigger="workbench-changed from:body").
(function () {
  "use strict";
  if (!document.getElementById("workbench-todo")) { return; }
  var retry = 1000;

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/live?after=live");
    socket.onopen = function () { retry = 1000; document.body.setAttribute("data-live", "open"); };
    socket.onmessage = function (e) {
      var event = JSON.parse(e.data);
      if (event.type === "workbench") {
        document.body.dispatchEvent(new CustomEvent("workbench-changed"));
      }
    };
    socket.onclose = function (e) {
      document.body.setAttribute("data-live", "closed");
      if (e.code === 4401 || e.code === 4403) { return; }
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  connect();
})();
