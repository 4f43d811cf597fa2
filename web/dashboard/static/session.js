"use strict";

// Access-token handling shared by the login page and the dashboard.
//
// The access token lives in sessionStorage (one browser tab); the refresh
// token is an HttpOnly cookie that only /api/auth/* receives. A refresh
// token works once, so concurrent callers share one refresh request.
const DialerSession = (() => {
  const TOKEN_KEY = "dialer.accessToken";
  const page = document.body.dataset;
  const strings = JSON.parse(document.getElementById("ui-strings").textContent);
  let pendingRefresh = null;

  function accessToken() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function storeToken(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  }

  function clearToken() {
    sessionStorage.removeItem(TOKEN_KEY);
  }

  // Adds the page's language to an API URL, so the API's error messages
  // match the page even when the user's own locale differs.
  function withLang(url) {
    if (/[?&]lang=/.test(url)) return url;
    const separator = url.includes("?") ? "&" : "?";
    return `${url}${separator}lang=${encodeURIComponent(page.locale)}`;
  }

  async function postJson(url, payload) {
    return fetch(withLang(url), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload || {}),
    });
  }

  async function readError(response) {
    try {
      const body = await response.json();
      return (body.error && body.error.message) || null;
    } catch (error) {
      return null;
    }
  }

  // Returns {ok: true} or {ok: false, message} with a message for the user.
  async function logIn(email, password) {
    let response;
    try {
      response = await postJson("/api/auth/login", { email, password });
    } catch (error) {
      return { ok: false, message: strings.networkError };
    }
    if (!response.ok) {
      return { ok: false, message: (await readError(response)) || strings.loginFailed };
    }
    const body = await response.json();
    storeToken(body.access_token);
    return { ok: true };
  }

  // Resolves to a new access token, or null when the session is over.
  // Rejects with a TypeError when the server cannot be reached.
  function refresh() {
    if (!pendingRefresh) {
      pendingRefresh = postJson("/api/auth/refresh")
        .then(async (response) => {
          if (!response.ok) {
            clearToken();
            return null;
          }
          const body = await response.json();
          storeToken(body.access_token);
          return body.access_token;
        })
        .finally(() => {
          pendingRefresh = null;
        });
    }
    return pendingRefresh;
  }

  async function logOut() {
    clearToken();
    try {
      await postJson("/api/auth/logout");
    } catch (error) {
      // The refresh cookie then expires on its own; the page leaves anyway.
      console.warn("logout request failed", error);
    }
    goToLogin();
  }

  function goToLogin() {
    window.location.assign(page.loginUrl);
  }

  function goHome() {
    window.location.assign(page.homeUrl);
  }

  return { strings, locale: page.locale, withLang, accessToken, logIn, refresh, logOut, goToLogin, goHome };
})();
