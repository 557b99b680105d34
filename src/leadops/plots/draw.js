// Draws every figure a page carries (the JSON block with id fig-NAME) into the element with data-fig NAME.
// The same file draws the dashboard's pages and the offline report files (inlined there), with the same plotly.js.
(function () {
  "use strict";
  if (typeof Plotly === "undefined") { return; }
  document.querySelectorAll("[data-fig]").forEach(function (el) {
    var source = document.getElementById("fig-" + el.getAttribute("data-fig"));
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    Plotly.newPlot(el, spec.data, spec.layout, spec.config);
  });
})();
