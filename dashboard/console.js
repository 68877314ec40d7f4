// The ops console's one script: the pages are drawn on the server and htmx swaps parts of
// them; this only does what markup cannot. Text from data never goes in as HTML.
(function () {
  "use strict";

  // The campaign editor says "required" only of fields the operator has been to.
  function touch(event) {
    var form = event.target.form;
    var name = event.target.name;
    if (!form || form.id !== "campaign-form" || !name || name.charAt(0) === "_") return;
    var touched = document.getElementById("touched");
    var names = touched.value ? touched.value.split(" ") : [];
    if (names.indexOf(name) < 0) {
      names.push(name);
      touched.value = names.join(" ");
    }
  }
  document.addEventListener("focusout", touch);
  document.addEventListener("change", touch);

  // A file chosen is a file sent (import a campaign, a member list).
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[type=file][data-autosubmit]")) {
      event.target.form.submit();
    }
  });

  // A file input is hidden behind its label (the browser's own words are English): the
  // chosen file's name shows beside it.
  document.addEventListener("change", function (event) {
    var shown = event.target.getAttribute && event.target.getAttribute("data-show-name");
    if (shown && event.target.files.length) {
      document.getElementById(shown).textContent = event.target.files[0].name;
    }
  });

  // Forms that change something hard to undo ask first.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  // Charts: a page hands its series as a JSON data block next to an element to draw in.
  function drawCharts() {
    if (typeof window.echarts === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source) return;
      var option = JSON.parse(source.textContent);
      var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option, true);
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", drawCharts);
  document.addEventListener("htmx:afterSettle", drawCharts);
})();
