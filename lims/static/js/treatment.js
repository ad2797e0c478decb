// The plan form: the staging scales that fit the indication, the stages of the chosen scale.
// Without the script every scale and stage is offered and the service says what does not fit.
(function () {
  "use strict";
  const indication = document.querySelector("[data-tx-indication]");
  const scale = document.querySelector("[data-tx-scale]");
  const stage = document.querySelector("[data-tx-stage]");
  if (!indication || !scale || !stage) return;

  function fitScales() {
    const chosen = indication.options[indication.selectedIndex];
    const fitting = (chosen.dataset.scales || "").split(" ").filter(Boolean);
    for (const option of scale.options) {
      const fits = option.value === "" || fitting.includes(option.value);
      option.hidden = !fits;
      option.disabled = !fits;
    }
    if (scale.selectedOptions[0] && scale.selectedOptions[0].disabled) {
      scale.value = fitting.length === 1 ? fitting[0] : "";
    }
    fitStages();
  }

  function fitStages() {
    for (const group of stage.querySelectorAll("optgroup")) {
      const fits = group.dataset.scale === scale.value;
      group.hidden = !fits;
      group.disabled = !fits;
    }
    const current = stage.selectedOptions[0];
    if (current && current.parentElement.disabled) stage.value = "";
  }

  indication.addEventListener("change", fitScales);
  scale.addEventListener("change", fitStages);
  fitScales();
})();
