// Draws every figure the page carries (JSON in <script type="application/json" id="fig-NAME">) into <div data-fig="NAME">.
(function () {
  "use strict";
  document.querySelectorAll("[data-fig]").forEach(function (el) {
    var source = document.getElementById("fig-" + el.getAttribute("data-fig"));
    if (!source || typeof Plotly === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    Plotly.newPlot(el, spec.data, spec.layout, spec.config);
  });
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
