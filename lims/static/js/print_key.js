// "Print label" with one key, Alt+P, where a page has the button (the unit page, the scan
// station's unit): the button's accesskey, for the browsers that do not take Alt+P for it
// themselves. One that did has pressed the button already and prevented the key's default;
// either way the form posts once (a second press, or a double tap, sends nothing more).
(function () {
  "use strict";

  var button = document.querySelector("[data-print-label]");
  if (!button || !button.form) return;
  var form = button.form;

  form.addEventListener("submit", function (event) {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
  });
  window.addEventListener("pageshow", function () {
    delete form.dataset.sent;  // back again (from the browser's cache): it may print again
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || !event.altKey) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (event.code !== "KeyP" && String(event.key).toLowerCase() !== "p") return;
    event.preventDefault();
    button.click();
  });
})();
