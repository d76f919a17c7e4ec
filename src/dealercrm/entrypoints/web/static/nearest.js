// 附近的服务站: over HTTPS, fill the form with the browser's location and submit it.
(function () {
  var button = document.getElementById("use-location");
  // the browser offers a location only in a secure context (HTTPS, or this machine itself)
  if (!button || !window.isSecureContext || !navigator.geolocation) {
    return;
  }
  button.hidden = false;
  document.getElementById("no-location").hidden = true;
  var status = document.getElementById("geo-status");
  button.addEventListener("click", function () {
    status.textContent = "正在获取当前位置……";
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("f-lat").value = pos.coords.latitude.toFixed(5);
      document.getElementById("f-lng").value = pos.coords.longitude.toFixed(5);
      document.getElementById("f-city").value = "";
      document.getElementById("nearest-form").submit();
    }, function () {
      status.textContent = "无法获取当前位置，请选择所在城市。";
    }, {timeout: 10000, maximumAge: 300000});
  });
  document.getElementById("by-city").addEventListener("click", function () {
    document.getElementById("f-lat").value = "";
    document.getElementById("f-lng").value = "";
  });
})();
