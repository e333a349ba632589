// The signed-out home screen: sign in with a password or a passkey, or create an account (and
// sign in with it). An account with a second factor is asked for it after its password
// (POST /api/auth/mfa/verify), or may sign in with a passkey instead.

import { login, passkeyLogin, passkeysSupported, register, verifyMFA } from "../api.js";
import { form, h, mount, run } from "../ui.js";

const emailField = { name: "email", label: "Email", type: "email", autocomplete: "username" };

// signIn logs in; the session listener in main.js then renders the account screen. When the
// account has a second factor, the second-step screen asks for it first.
async function signIn(email, password) {
  const answer = await login(email, password);
  if (answer.mfaRequired) secondStepScreen(answer);
}

// secondStepScreen asks for a code from the authenticator app, or one of the recovery codes.
// The mfaToken lives five minutes and takes five codes; then the password must be given again.
function secondStepScreen({ mfaToken, methods }) {
  mount(
    h("section", { class: "card" },
      h("h2", {}, "Second step"),
      h("p", { class: "muted" }, "Enter the 6-digit code your authenticator app shows."),
      form({
        name: "mfa-code",
        fields: [{ name: "code", label: "Code", autocomplete: "one-time-code" }],
        submit: "Verify",
        onSubmit: ({ code }) => verifyMFA(mfaToken, "code", code),
      }),
    ),
    methods.includes("recovery_code") && h("section", { class: "card" },
      h("h2", {}, "Lost your app?"),
      form({
        name: "mfa-recovery",
        fields: [{ name: "recoveryCode", label: "One of your recovery codes", autocomplete: "off" }],
        submit: "Use recovery code",
        onSubmit: ({ recoveryCode }) => verifyMFA(mfaToken, "recoveryCode", recoveryCode),
      }),
    ),
    methods.includes("passkey") && passkeysSupported() && h("section", { class: "card" },
      h("h2", {}, "Have a passkey?"),
      h("p", { class: "muted" }, "A passkey is a complete sign-in on its own: no password, no code."),
      h("button", { type: "button", class: "primary", "data-test": "mfa-passkey-login", onclick: () => run(() => passkeyLogin()) }, "Sign in with a passkey instead"),
    ),
    h("p", {}, h("a", { href: "/", "data-link": true }, "Start again")),
  );
}

// signinScreen mounts the sign-in and registration forms.
export function signinScreen() {
  mount(
    h("section", { class: "card" },
      h("h2", {}, "Sign in"),
      form({
        name: "login",
        fields: [emailField, { name: "password", label: "Password", type: "password", autocomplete: "current-password" }],
        submit: "Sign in",
        onSubmit: ({ email, password }) => signIn(email, password),
      }),
      h("p", {}, h("a", { href: "/forgot-password", "data-link": true, "data-test": "forgot" }, "Forgot your password?")),
    ),
    h("section", { class: "card" },
      h("h2", {}, "Sign in with a passkey"),
      h("p", { class: "muted" }, "No email, no password: your browser offers the passkeys it keeps for this site."),
      passkeysSupported()
        ? h("button", { type: "button", class: "primary", "data-test": "passkey-login", onclick: () => run(() => passkeyLogin()) }, "Sign in with a passkey")
        : h("p", { class: "muted" }, "This browser cannot use passkeys."),
    ),
    h("section", { class: "card" },
      h("h2", {}, "Create an account"),
      form({
        name: "register",
        fields: [emailField, { name: "password", label: "Password (8 or more characters)", type: "password", autocomplete: "new-password" }],
        submit: "Create account",
        onSubmit: async ({ email, password }) => {
          await register(email, password);
          await signIn(email, password);
        },
      }),
    ),
    h("section", { class: "card wide muted" },
      h("h2", {}, "How this page keeps you signed in"),
      h("ul", {},
        h("li", {}, "The access token lives only in this page's memory: no localStorage, no sessionStorage, no readable cookie."),
        h("li", {}, "The refresh token is an HttpOnly, SameSite=Strict cookie for /api/auth only; scripts never see it."),
        h("li", {}, "On load, and when a call answers 401 TOKEN_EXPIRED, one refresh trades the cookie for a new access token."),
      ),
      h("p", {}, "Open \"API activity\" below to watch every call."),
    ),
  );
}
