// Shipments, for a keyboard-wedge scanner on a tablet at the bench. Every page works without
// this script: the receive form's "one code per line" box takes the scanner's codes and Enters
// as they come, and the server says what was scanned and what is missing.
// - A form marked data-once posts once: a second Enter from a fast scanner, or a double tap,
//   does not send it again.
// - The receive form: the scan box (shown by this script) adds each scanned code to the list
//   on Enter, and the manifest's checklist ticks off each unit whose DIN barcode, Data Matrix
//   or typed DIN was scanned; a code that names no unit of the manifest is listed apart.
//   Enter in the temperature box goes on to the scan box instead of sending the form.
(function () {
  "use strict";

  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
    });
  });

  var form = document.querySelector("form[data-receive]");
  if (!form) return;
  var box = form.querySelector("[data-receive-scan]");
  var list = form.querySelector("textarea[name=scanned]");
  var temperature = form.querySelector("input[name=arrival_temperature_c]");
  var rows = Array.prototype.slice.call(form.querySelectorAll("tr[data-codes]"));
  var count = form.querySelector("[data-count]");
  var strays = form.querySelector("[data-unexpected]");
  var strayList = form.querySelector("[data-unexpected-list]");
  if (!box || !list) return;

  // As the server compares them (lims/web/shipments/routes.py, normalized).
  function normalized(code) {
    return code.replace(/[\s-]+/g, "").toUpperCase();
  }

  function lines() {
    return list.value.split(/\r?\n/).map(function (line) {
      return line.trim();
    }).filter(function (line) {
      return line !== "";
    });
  }

  function update() {
    var scanned = lines();
    var seen = {};
    scanned.forEach(function (code) {
      seen[normalized(code)] = true;
    });
    var known = {};
    var ticked = 0;
    rows.forEach(function (row) {
      var codes = row.dataset.codes.split(" ");
      var hit = codes.some(function (code) {
        return seen[code];
      });
      codes.forEach(function (code) {
        known[code] = true;
      });
      row.classList.toggle("is-scanned", hit);
      var tick = row.querySelector("[data-tick]");
      if (tick) tick.textContent = hit ? "✔ scanned" : "not scanned";
      if (hit) ticked += 1;
    });
    if (count) count.textContent = String(ticked);
    if (strays && strayList) {
      var others = scanned.filter(function (code) {
        return !known[normalized(code)];
      });
      strayList.textContent = "";
      others.forEach(function (code) {
        var item = document.createElement("li");
        item.className = "mono";
        item.textContent = code;
        strayList.appendChild(item);
      });
      strays.hidden = others.length === 0;
    }
  }

  function add() {
    var code = box.value.trim();
    box.value = "";
    if (!code) return;
    var text = list.value.replace(/\s+$/, "");
    list.value = (text ? text + "\n" : "") + code + "\n";
    update();
  }

  box.closest("[data-scan-box]").hidden = false;
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      add();
    }
  });
  if (temperature) {
    temperature.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        box.focus();
      }
    });
  }
  list.addEventListener("input", update);
  // A code still in the box when the form is sent is one more scan, not a lost one.
  form.addEventListener("submit", add, true);
  update();
})();
