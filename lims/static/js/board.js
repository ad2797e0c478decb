// The readiness board: tick each expiry countdown every second and fetch the board afresh
// every 30 s, swapping it in without a reload. Without this script the server's text stands
// and the page reloads itself (a <noscript> refresh). The fetch says it is the page's own
// (X-Background), so it does not keep the session alive; once the session has ended it gets
// 401 and the page reloads, which leads to the sign-in page.
(function () {
  "use strict";

  var board = document.getElementById("board");
  if (!board) return;
  var url = board.dataset.fragment;
  var every = (parseInt(board.dataset.refresh, 10) || 30) * 1000;
  var note = document.querySelector("[data-live-note]");

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function left(ms) {
    if (ms <= 0) return "expired";
    var s = Math.floor(ms / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60);
    if (d >= 730) return "about " + Math.round(d / 365.25) + " years left";
    if (d >= 60) return "about " + Math.round(d / 30.44) + " months left";
    if (d) return d + " d " + h + " h left";
    return h + " h " + pad(m) + " min " + pad(s % 60) + " s left";
  }

  function tick() {
    var now = Date.now();
    board.querySelectorAll("[data-expires]").forEach(function (el) {
      var at = Date.parse(el.dataset.expires);
      if (isNaN(at)) return;
      var text = el.querySelector(".countdown-text") || el;
      text.textContent = left(at - now);
      el.classList.toggle("is-expired", at <= now);
      el.classList.toggle("is-soon", at > now && at - now < 3600 * 1000);
    });
  }

  function refresh() {
    fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "text/html", "X-Background": "1" }
    })
      .then(function (response) {
        if (response.status === 401) {
          window.clearInterval(refreshing);
          window.location.reload();
          return new Promise(function () {});  // the page is going: stop here
        }
        if (!response.ok || response.redirected) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        board.innerHTML = html;
        board.dataset.refreshed = String(Date.now());
        if (note) { note.textContent = "refreshes every " + every / 1000 + " s"; note.classList.remove("is-stale"); }
        tick();
      })
      .catch(function () {
        // Signed out or the server is away: keep what is shown, say so, try again later.
        if (note) { note.textContent = "could not refresh — showing the last board; reload the page"; note.classList.add("is-stale"); }
      });
  }

  tick();
  window.setInterval(tick, 1000);
  var refreshing = window.setInterval(refresh, every);
})();
