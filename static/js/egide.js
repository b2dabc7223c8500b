// Égide — small progressive enhancements. Loaded as a file: the CSP forbids inline scripts.
(function () {
  "use strict";
  // Organisation switcher: submit as soon as another organisation is chosen (the button stays for no-JS).
  document.querySelectorAll("form.js-autosubmit select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });
  // Password strength meter: the server scores the password (zxcvbn) as the person types.
  var meter = document.getElementById("password-meter");
  var field = document.querySelector("input[data-strength-meter]");
  if (meter && field) {
    var timer = null;
    field.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var token = document.querySelector("input[name=csrf_token]");
        var body = new URLSearchParams({ new_password: field.value });
        fetch(meter.dataset.strengthUrl, {
          method: "POST", body: body, credentials: "same-origin",
          headers: token ? { "X-CSRFToken": token.value } : {}
        }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
          if (html === null) { return; }
          // Keep the aria-live container in place and swap its content: screen readers announce it.
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.firstElementChild;
          if (fresh) { meter.innerHTML = fresh.innerHTML; }
        });
      }, 250);
    });
  }
  // htmx requests carry the CSRF token from the page's forms.
  document.body.addEventListener("htmx:configRequest", function (event) {
    var token = document.querySelector("input[name=csrf_token]");
    if (token) { event.detail.headers["X-CSRFToken"] = token.value; }
  });
})();
