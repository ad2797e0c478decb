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

  // Record QC: show the input the chosen test takes (a number, or one of its words).
  var qcTest = document.querySelector("form.action-record_qc select#test");
  if (qcTest) {
    var number = document.getElementById("value_number");
    var word = document.getElementById("value_word");
    var corrects = document.getElementById("corrects");
    var showValue = function () {
      var chosen = qcTest.selectedOptions[0];
      var kind = chosen ? chosen.dataset.kind : "";
      number.closest(".field").hidden = kind === "word";
      word.closest(".field").hidden = kind === "number";
      word.querySelectorAll("optgroup").forEach(function (group) {
        var fits = !kind || group.label === chosen.dataset.group;
        group.hidden = !fits;
        group.disabled = !fits;
      });
      var picked = word.selectedOptions[0];
      if (picked && picked.parentElement.disabled) word.value = "";
    };
    if (corrects) {
      corrects.addEventListener("change", function () {
        var earlier = corrects.selectedOptions[0];
        if (earlier && earlier.dataset.test) qcTest.value = earlier.dataset.test;
        showValue();
      });
    }
    qcTest.addEventListener("change", showValue);
    showValue();
  }

  // Record a step: the reagent follows the chosen step unless the user typed another.
  var stepChoice = document.querySelector("form.action-record_step select#step");
  if (stepChoice) {
    var reagent = document.getElementById("reagent");
    var filledFor = document.getElementById("prefilled_step");
    var filled = reagent.value;
    stepChoice.addEventListener("change", function () {
      if (reagent.value !== filled && reagent.value !== "") return;
      var chosen = stepChoice.selectedOptions[0];
      filled = reagent.value = (chosen && chosen.dataset.reagent) || "";
      if (filledFor) filledFor.value = stepChoice.value;
    });
  }

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
