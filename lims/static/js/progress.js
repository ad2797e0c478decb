// A long job's page: poll its JSON every second and move the <progress> bar; when the job
// ends, load the page again to show the verdict. Without this script the page shows the
// state as of loading, with a Refresh link. The poll says it is the page's own (X-Background),
// so it does not keep the session alive; once the session has ended (401) the page reloads,
// which leads to the sign-in page.
(function () {
  "use strict";

  var panel = document.querySelector("[data-job-poll]");
  if (!panel || !window.fetch) return;
  var status = panel.dataset.jobStatus;
  if (status === "done" || status === "failed") return;

  var bar = panel.querySelector("progress");
  var words = panel.querySelector("[data-job-words]");
  var badge = panel.querySelector("[data-job-badge]");
  var refresh = panel.querySelector("[data-job-refresh]");
  var url = panel.dataset.jobPoll;
  var INTERVAL = 1000;
  var failures = 0;

  if (refresh) refresh.hidden = true;

  function show(job) {
    if (job.status !== "queued" && job.total > 0) {
      bar.max = job.total;
      bar.value = Math.min(job.progress, job.total);
    }
    bar.textContent = job.percent + " %";
    if (words.textContent !== job.summary) words.textContent = job.summary;
    if (badge) badge.textContent = job.status;
    panel.dataset.jobStatus = job.status;
  }

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
        show(job);
        if (job.finished) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, INTERVAL);
      })
      .catch(function () {
        // Signed out, or the server is away: offer the link, keep trying more slowly.
        failures += 1;
        if (refresh) refresh.hidden = false;
        window.setTimeout(poll, Math.min(30000, INTERVAL * 5 * failures));
      });
  }

  window.setTimeout(poll, INTERVAL);
})();
