// Égide — small progressive enhancements. Loaded as a file: the CSP forbids inline scripts.
(function () {
  "use strict";
  // Organisation switcher: submit as soon as another organisation is chosen (the button stays for no-JS).
  document.querySelectorAll("form.js-autosubmit select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });
  // htmx requests carry the CSRF token from the page's forms.
  document.body.addEventListener("htmx:configRequest", function (event) {
    var token = document.querySelector("input[name=csrf_token]");
    if (token) { event.detail.headers["X-CSRFToken"] = token.value; }
  });
})();
