// The scan station, for a keyboard-wedge scanner and a keyboard alone (no mouse needed).
// - The scan box always has the focus: it takes it back after every blur and every action.
// - With the box empty, a key that a button shows (1-9, 0, −, +, Esc) presses that button;
//   codes never start with a digit, so a scan is never mistaken for a shortcut.
// - While an identity mismatch is open, only its Dismiss button works (Enter or Escape).
// Every page still works without this script: all buttons are plain forms and links.
(function () {
  "use strict";

  var box = document.querySelector("[data-station-input]");
  var dismiss = document.getElementById("dismiss");

  function press(key) {
    var target = document.querySelector('[data-key="' + key + '"]');
    if (!target) return false;
    target.click();
    return true;
  }

  if (dismiss) {
    dismiss.focus();
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        dismiss.click();
      }
    });
    return;
  }

  if (!box) return;
  box.value = "";
  box.focus();
  box.addEventListener("blur", function () {
    window.setTimeout(function () {
      if (document.activeElement === document.body || document.activeElement === null) {
        box.focus();
      } else if (!document.activeElement.closest("form.scan-form")) {
        box.focus();
      }
    }, 0);
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    var key = event.key === "-" ? "-" : event.key;
    if (key === "Escape" || (box.value === "" && /^[0-9+\-]$/.test(key))) {
      if (press(key)) event.preventDefault();
    }
  });

  // The form posts once; a second Enter from a fast scanner must not post it again.
  var form = document.getElementById("station-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      if (!box.value.trim()) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
    });
  }
})();
