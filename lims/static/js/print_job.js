// A print job on its way to the printer: poll its JSON every second and load the page again
// when its status changes (printed: the scan-back form; failed: the printer's words and Retry).
// Without this script the page shows the state as of loading, with a Refresh link. The poll
// says it is the page's own (X-Background), so it does not keep the session alive; once the
// session has ended (401) the page reloads, which leads to the sign-in page.
// The scan-back form posts once: a second Enter from a fast scanner must not check again.
(function () {
  "use strict";

  var scanBack = document.getElementById("scan-back");
  if (scanBack) {
    scanBack.addEventListener("submit", function (event) {
      if (scanBack.dataset.sent) {
        event.preventDefault();
        return;
      }
      scanBack.dataset.sent = "1";
    });
  }

  var panel = document.querySelector("[data-print-poll]");
  if (!panel || !window.fetch) return;
  var url = panel.dataset.printPoll;
  var status = panel.dataset.printStatus;
  var refresh = panel.querySelector("[data-print-refresh]");
  var INTERVAL = 1000;
  var failures = 0;

  if (refresh) refresh.hidden = true;

  function poll() {
    fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Background": "1" },
      cache: "no-store"
    })
      .then(function (response) {
        if (response.status === 401) {
          window.location.reload();
          return new Promise(function () {});  // the page is going: stop here
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (job) {
        failures = 0;
        if (job.status !== status) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, INTERVAL);
      })
      .catch(function () {
        // The server is away: offer the link, keep trying more slowly.
        failures += 1;
        if (refresh) refresh.hidden = false;
        window.setTimeout(poll, Math.min(30000, INTERVAL * 5 * failures));
      });
  }

  window.setTimeout(poll, INTERVAL);
})();
