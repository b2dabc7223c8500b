// Égide — live deadlines: every element with data-deadline counts down without a reload (the 72 h
// clock of a breach: templates/registers/_breach_clock.html). The server renders the right text and
// colour, so the page is right without this script; the script keeps them current. Everything comes
// from the element: the deadline, the server's time when it rendered (to correct a wrong computer
// clock), the thresholds of the colours (one rule, in Python: registers/services/breach_rules.py) and
// the texts in the page's language. Loaded as a file with the CSP nonce: no inline script.
(function () {
  "use strict";
  var HOUR = 3600000;
  var MINUTE = 60000;
  var LEVELS = ["neutral", "amber", "red", "overdue"];
  var clocks = Array.prototype.map.call(document.querySelectorAll("[data-deadline]"), function (el) {
    var serverNow = Date.parse(el.dataset.now);
    return {
      el: el,
      deadline: Date.parse(el.dataset.deadline),
      skew: isNaN(serverNow) ? 0 : serverNow - Date.now(),
      amber: Number(el.dataset.amberBelow) * 1000,
      red: Number(el.dataset.redBelow) * 1000
    };
  }).filter(function (c) { return !isNaN(c.deadline); });
  if (!clocks.length) { return; }

  function level(c, remaining) {
    if (remaining < 0) { return "overdue"; }
    if (remaining < c.red) { return "red"; }
    if (remaining < c.amber) { return "amber"; }
    return "neutral";
  }

  function render(c) {
    var remaining = c.deadline - (Date.now() + c.skew);
    var text = remaining < 0
      ? c.el.dataset.textLate.replace("{n}", String(Math.ceil(-remaining / HOUR)))
      : c.el.dataset.textLeft.replace("{h}", String(Math.floor(remaining / HOUR)))
        .replace("{m}", String(Math.floor((remaining % HOUR) / MINUTE)));
    if (c.el.textContent !== text) { c.el.textContent = text; }
    var now = level(c, remaining);
    LEVELS.forEach(function (l) { c.el.classList.toggle("deadline-" + l, l === now); });
  }

  function tick() { clocks.forEach(render); }
  tick();
  setInterval(tick, 10000);
})();
