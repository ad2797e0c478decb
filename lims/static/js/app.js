// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Register: offer only the collection sites of the chosen material.
  document.querySelectorAll("select[data-sites-for]").forEach(function (sites) {
    var type = document.getElementById(sites.dataset.sitesFor);
    if (!type) return;
    function update() {
      sites.querySelectorAll("optgroup").forEach(function (group) {
        var fits = !type.value || group.dataset.type === type.value;
        group.hidden = !fits;
        group.disabled = !fits;
      });
      var chosen = sites.selectedOptions[0];
      if (chosen && chosen.parentElement.disabled) sites.value = "";
      var open = sites.querySelectorAll("optgroup:not([disabled]) option");
      if (type.value && open.length === 1 && !sites.value) sites.value = open[0].value;
    }
    type.addEventListener("change", update);
    update();
  });

  // A scan station keeps the cursor in an empty scan box, also after a bad scan.
  var scanBox = document.querySelector("[data-refocus]");
  if (scanBox) {
    scanBox.value = "";
    scanBox.focus();
  }

  // After a refused form, move focus to the message so it is read out and seen.
  var problem = document.getElementById("form-error");
  if (problem && !scanBox) problem.focus();
})();
