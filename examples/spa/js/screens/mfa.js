// The second-factor card of the account screen: GET /api/auth/mfa says whether TOTP is on.
// Off: enrol (POST /api/auth/mfa/totp with the password shows the QR code and the secret once),
// then confirm with a code from the app (POST /api/auth/mfa/totp/confirm), which shows the ten
// recovery codes once. On: new recovery codes (POST /api/auth/mfa/recovery-codes) or turn it off
// (DELETE /api/auth/mfa/totp). Secrets and codes are shown, never stored.

import { api } from "../api.js";
import { form, h, notice } from "../ui.js";

// secondFactorCard returns the card; it fills itself, and calls reload after a change that the
// rest of the account screen shows (other sessions end, "Second factor" on /api/me changes).
export function secondFactorCard(reload) {
  const card = h("section", { class: "card wide", "data-test": "mfa" }, h("h2", {}, "Second factor"));

  async function show(...extra) {
    const st = await api("/api/auth/mfa");
    card.replaceChildren(h("h2", {}, "Second factor"), ...(st.totp ? onView(st) : offView()), ...extra);
  }

  function offView() {
    return [
      h("p", { "data-test": "mfa-state" }, "Off: a password alone signs you in."),
      form({
        name: "mfa-enrol",
        fields: [{ name: "password", label: "Your password, to set up an authenticator app", type: "password", autocomplete: "current-password" }],
        submit: "Set up",
        onSubmit: async ({ password }) => {
          const e = await api("/api/auth/mfa/totp", { method: "POST", body: { password } });
          card.replaceChildren(h("h2", {}, "Second factor"), ...pendingView(e));
        },
      }),
    ];
  }

  function pendingView(e) {
    return [
      h("p", {}, "Scan this code with your authenticator app, or type the secret into it, then enter the code it shows."),
      h("img", { src: e.qrCode, alt: "QR code of the otpauth URL", width: 256, height: 256, "data-test": "mfa-qr" }),
      h("p", {}, "Secret: ", h("code", { "data-test": "mfa-secret" }, e.secret)),
      form({
        name: "mfa-confirm",
        fields: [{ name: "code", label: "Code from the app", autocomplete: "one-time-code" }],
        submit: "Turn on",
        onSubmit: async ({ code }) => {
          const { recoveryCodes } = await api("/api/auth/mfa/totp/confirm", { method: "POST", body: { code } });
          notice("Second factor on. Every other session has ended.");
          await show(codesView(recoveryCodes));
          await reload();
        },
      }),
    ];
  }

  function onView(st) {
    return [
      h("p", { "data-test": "mfa-state" }, `On: an authenticator app. Recovery codes left: ${st.recoveryCodesLeft}.`),
      form({
        name: "mfa-regenerate",
        fields: [{ name: "code", label: "Code from the app, for new recovery codes", autocomplete: "one-time-code" }],
        submit: "New recovery codes",
        onSubmit: async ({ code }) => {
          const { recoveryCodes } = await api("/api/auth/mfa/recovery-codes", { method: "POST", body: { code } });
          await show(codesView(recoveryCodes));
        },
      }),
      form({
        name: "mfa-disable",
        fields: [{ name: "code", label: "Code from the app or a recovery code, to turn it off", autocomplete: "one-time-code" }],
        submit: "Turn off",
        onSubmit: async ({ code }) => {
          await api("/api/auth/mfa/totp", { method: "DELETE", body: { code } });
          notice("Second factor off. Every other session has ended.");
          await show();
          await reload();
        },
      }),
    ];
  }

  function codesView(codes) {
    return h("div", { class: "codes" },
      h("p", {}, "Your recovery codes. Write them down now: they are shown only this once, and each works once."),
      h("ol", { "data-test": "recovery-codes" }, codes.map((c) => h("li", {}, h("code", {}, c)))),
    );
  }

  show().catch((err) => card.append(h("p", { class: "muted" }, `Could not load: ${err.message}`)));
  return card;
}
