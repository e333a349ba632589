// main.js starts the app: it registers the screens, restores the session from the refresh
// cookie (so a reload keeps you signed in), and renders the current path.
//
// Adding a screen: write js/screens/<name>.js exporting a function that mounts its view (see
// account.js), import it here and register it with route("/path", screen). The server answers
// index.html for any page a browser asks for (Accept: text/html) outside /api/, so a path such
// as /verify-email needs no server change. A screen opened from an email link reads its one-time
// token from the fragment (/verify-email#token=...), which never reaches a server log:
// new URLSearchParams(location.hash.slice(1)).get("token"); drop it from the address bar with
// history.replaceState(null, "", location.pathname) before calling the API.

import { restoreSession, signedIn, subscribe } from "./api.js";
import { render, route, start } from "./router.js";
import { accountScreen } from "./screens/account.js";
import { confirmEmailScreen, forgotScreen, resetScreen, verifyScreen } from "./screens/email.js";
import { signinScreen } from "./screens/signin.js";
import { h, logActivity, mount, showError } from "./ui.js";

route("/", () => (signedIn() ? accountScreen() : signinScreen()));
route("/forgot-password", forgotScreen);
route("/reset-password", resetScreen);
route("/verify-email", verifyScreen);
route("/confirm-email", confirmEmailScreen);
route("*", () =>
  mount(h("section", { class: "card" }, h("h2", {}, "Page not found"), h("p", {}, "Nothing lives at ", h("code", {}, location.pathname), ". "), h("a", { href: "/", "data-link": true }, "Go home"))),
);

subscribe((event) => {
  if (event.kind === "call") logActivity(event);
});

try {
  await restoreSession();
} catch (err) {
  showError(err);
}

// From now on a session that starts or ends re-renders the page; a session ended by the server
// (revoked, expired beyond refresh) says why.
subscribe((event) => {
  if (event.kind !== "session") return;
  if (!event.signedIn) document.getElementById("whoami").textContent = "";
  render().then(() => {
    if (event.reason) showError(event.reason, "You were signed out");
  });
});

await start();
document.body.dataset.ready = "true";
