"use strict";

// Login form: posts the credentials as JSON, then opens the dashboard.
(() => {
  const form = document.getElementById("login-form");
  const errorBox = document.getElementById("login-error");
  const submit = document.getElementById("login-submit");
  const submitLabel = submit.textContent;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const email = form.elements.email.value.trim();
    const password = form.elements.password.value;
    if (!email || !password) {
      showError(DialerSession.strings.loginFailed);
      return;
    }

    submit.disabled = true;
    submit.textContent = DialerSession.strings.loggingIn;
    const result = await DialerSession.logIn(email, password);
    submit.disabled = false;
    submit.textContent = submitLabel;
    if (result.ok) {
      DialerSession.goHome();
    } else {
      showError(result.message);
    }
  });
})();
