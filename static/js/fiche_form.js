// Égide — the fiche form, enhanced: loaded as a file with the page's nonce (strict CSP). Without it
// the form still works: every application is a checkbox, "add a row" submits the form (nothing is
// saved, one more blank row comes back), and the error summary sits above the form.
(function () {
  "use strict";
  var form = document.getElementById("activity-form");
  if (!form) { return; }

  // After a failed save: the focus goes to the summary of errors (screen readers read it first).
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  // Applications: a filter over the checkboxes (accents and case ignored); checked ones stay in view.
  var fold = function (text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  };
  var filter = document.getElementById("application-filter");
  var list = document.getElementById("application-list");
  var count = document.getElementById("application-count");
  if (filter && list && count) {
    var items = Array.prototype.slice.call(list.querySelectorAll("li.form-check"));
    var texts = count.dataset;
    var show = function () {
      var wanted = fold(filter.value.trim());
      var shown = 0;
      var checked = 0;
      items.forEach(function (item) {
        var box = item.querySelector("input");
        var match = !wanted || fold(item.textContent).indexOf(wanted) !== -1;
        item.hidden = !(match || box.checked);
        if (!item.hidden) { shown += 1; }
        if (box.checked) { checked += 1; }
      });
      count.textContent = texts.checked.replace("{n}", checked) +
        (wanted ? " " + texts.shown.replace("{shown}", shown).replace("{total}", items.length) : "");
    };
    filter.hidden = false;
    filter.addEventListener("input", show);
    filter.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); } // Enter filters, it does not save the fiche
    });
    list.addEventListener("change", show);
  }

  // Recipients and transfers: a new blank row from the page's <template>, without saving.
  var status = document.getElementById("rows-status");
  form.querySelectorAll("[data-add-row]").forEach(function (button) {
    var name = button.dataset.addRow;
    var body = document.getElementById(name + "-rows");
    var template = document.getElementById(name + "-template");
    if (!body || !template) { return; }
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var index = 0;
      body.querySelectorAll("[name^='" + name + "-']").forEach(function (field) {
        var found = /^[a-z_]+-(\d+)-/.exec(field.name);
        if (found) { index = Math.max(index, Number(found[1]) + 1); }
      });
      var html = template.innerHTML.split("__index__").join(String(index))
        .split("__number__").join(String(body.rows.length + 1));
      body.insertAdjacentHTML("beforeend", html);
      var row = body.rows[body.rows.length - 1];
      var first = row.querySelector("input, select");
      if (first) { first.focus(); }
      if (status) { status.textContent = button.dataset.added.replace("{n}", body.rows.length); }
    });
  });
})();
