// The ops console's one script: the pages are drawn on the server and htmx swaps parts of
// them; this only does what markup cannot. Text from data never goes in as HTML.
(function () {
  "use strict";

  // The editor's form has a field named "id", which hides the form's own `id` property:
  // the form is known by its attribute.
  function isEditor(form) {
    return !!form && form.getAttribute("id") === "campaign-form";
  }

  // The campaign editor says "required" only of fields the operator has been to.
  function touch(event) {
    var form = event.target.form;
    var name = event.target.name;
    if (!isEditor(form) || !name || name.charAt(0) === "_") return;
    var touched = document.getElementById("touched");
    var names = touched.value ? touched.value.split(" ") : [];
    if (names.indexOf(name) < 0) {
      names.push(name);
      touched.value = names.join(" ");
    }
  }
  // Captured, so a field counts as visited before htmx reads the form for its check.
  document.addEventListener("focusout", touch, true);
  document.addEventListener("change", touch, true);

  // Each check of the editor names the problem boxes now showing, so the answer swaps only
  // those and the ones with new problems, not every field's box.
  document.addEventListener("htmx:configRequest", function (event) {
    if (!isEditor(event.detail.elt)) return;
    var shown = [];
    event.detail.elt.querySelectorAll(".err").forEach(function (box) {
      if (box.firstElementChild) shown.push(box.id);
    });
    event.detail.parameters["_shown"] = shown.join(" ");
  });

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
