// The screens of the links the server mails (/verify-email, /reset-password, /confirm-email) and
// the forgot-password form. A mailed link carries its one-time token in the fragment
// (#token=...), which never reaches a server log; takeToken reads it and drops it from the address
// bar (and so from the history) before any call is made.

import { api } from "../api.js";
import { navigate } from "../router.js";
import { form, h, mount, notice, showError } from "../ui.js";

const emailField = { name: "email", label: "Email", type: "email", autocomplete: "username" };

// takeToken returns the token of the page's fragment, or null, and removes the fragment.
function takeToken() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (location.hash) history.replaceState(null, "", location.pathname);
  return token;
}

// card is one titled section.
function card(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

// homeLink leads back to the home screen (sign in, or your account).
function homeLink() {
  return h("p", {}, h("a", { href: "/", "data-link": true }, "Back to the start"));
}

// post sends a call that needs no access token and returns the answer.
function post(path, body) {
  return api(path, { method: "POST", body, auth: false });
}

// resendCard asks for a new verification link.
function resendCard() {
  return card("Need a new link?",
    form({
      name: "resend",
      fields: [emailField],
      submit: "Send a new link",
      onSubmit: async ({ email }) => notice((await post("/api/auth/verify-email/resend", { email })).message),
    }),
  );
}

// forgotScreen (/forgot-password) asks for a password-reset link. The answer is the same whether
// the address has an account or not.
export function forgotScreen() {
  mount(
    card("Forgot your password?",
      h("p", {}, "Enter the address of your account: a link to choose a new password is mailed to it."),
      form({
        name: "forgot",
        fields: [emailField],
        submit: "Mail me a link",
        onSubmit: async ({ email }) => notice((await post("/api/auth/password/forgot", { email })).message),
      }),
      homeLink(),
    ),
  );
}

// resetScreen (/reset-password#token=...) sets a new password. A password the server refuses
// leaves the link usable, so the form stays for another try.
export function resetScreen() {
  const token = takeToken();
  if (!token) {
    mount(card("Reset your password", h("p", {}, "Open this page with the link from the mail, or ask for a new one."),
      h("p", {}, h("a", { href: "/forgot-password", "data-link": true }, "Mail me a new link"))));
    return;
  }
  mount(
    card("Choose a new password",
      form({
        name: "reset",
        fields: [{ name: "newPassword", label: "New password (8 or more characters)", type: "password", autocomplete: "new-password" }],
        submit: "Set the password",
        onSubmit: async ({ newPassword }) => {
          await post("/api/auth/password/reset", { token, newPassword });
          await navigate("/", { replace: true });
          notice("Your password is set and every session has ended: sign in with the new password.");
        },
      }),
      homeLink(),
    ),
  );
}

// spendLink calls path with the page's token and mounts what done makes of the user, or the
// error with a way to get a new link.
async function spendLink(path, waiting, done, retry) {
  const token = takeToken();
  if (!token) {
    mount(card("This page needs the link from the mail"), retry(), homeLink());
    return;
  }
  mount(card(waiting));
  try {
    const { user } = await post(path, { token });
    mount(done(user), homeLink());
  } catch (err) {
    mount(card("This link does not work", h("p", {}, "It may have been used already, replaced by a newer one, or expired.")), retry(), homeLink());
    showError(err);
  }
}

// verifyScreen (/verify-email#token=...) confirms the account's address.
export function verifyScreen() {
  return spendLink("/api/auth/verify-email", "Confirming your address…",
    (user) => card("Address confirmed", h("p", {}, h("span", { "data-test": "verified-email" }, user.email), " is confirmed.")),
    resendCard);
}

// confirmEmailScreen (/confirm-email#token=...) moves the account to its new address.
export function confirmEmailScreen() {
  return spendLink("/api/auth/email/confirm", "Changing your address…",
    (user) => card("Address changed", h("p", {}, "Your account's address is now ", h("span", { "data-test": "confirmed-email" }, user.email), ".")),
    () => card("Need a new link?", h("p", {}, "Sign in and ask for the change again from your account page.")));
}

// changeEmailCard (on the account screen) asks for a move to a new address: a confirmation link goes
// there, and a notice without a link to the current address.
export function changeEmailCard() {
  return card("Change your email address",
    form({
      name: "change-email",
      fields: [
        { name: "newEmail", label: "New email", type: "email", autocomplete: "email" },
        { name: "password", label: "Current password", type: "password", autocomplete: "current-password" },
      ],
      submit: "Mail a confirmation link",
      onSubmit: async ({ newEmail, password }) => notice((await api("/api/auth/email", { method: "POST", body: { password, newEmail } })).message),
    }),
  );
}
