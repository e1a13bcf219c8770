// Sends the session's CSRF token with every htmx request (forms also carry it as a field).
document.addEventListener("htmx:configRequest", function (event) {
  var token = document.body.dataset.csrf;
  if (token) {
    event.detail.headers["X-CSRF-Token"] = token;
  }
});
