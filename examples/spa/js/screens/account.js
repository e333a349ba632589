// The signed-in home screen: who you are (GET /api/me), the protected example route
// (GET /api/profile), your sessions (GET /api/auth/sessions), each of which can be ended, a
// password change (POST /api/auth/password), the second factor (mfa.js), and your passkeys
// (GET /api/auth/passkeys), which you can add on this device and delete.

import { addPasskey, api, logout, passkeysSupported } from "../api.js";
import { form, h, mount, notice, run, showError, when } from "../ui.js";
import { changeEmailCard } from "./email.js";
import { secondFactorCard } from "./mfa.js";

// accountScreen mounts the account view and loads its four parts at once: when the access token
// has expired, the four calls share one refresh.
export async function accountScreen() {
  const me = h("dl", { "data-test": "me" });
  const profile = h("dl", { "data-test": "profile" });
  const sessions = h("tbody", { "data-test": "sessions" });
  const passkeys = h("tbody", { "data-test": "passkeys" });

  // load marks the view busy (data-loading) until every call has answered, so a test (or a
  // spinner) can tell a settled screen from one still loading.
  async function load() {
    const view = document.getElementById("view");
    view.dataset.loading = "true";
    const results = await Promise.allSettled([
      api("/api/me").then(({ user }) => {
        document.getElementById("whoami").textContent = `${user.email} (${user.role})`;
        fill(me, [["Email", user.email, "me-email"], ["Role", user.role], ["Email verified", user.emailVerified ? "yes" : "no"], ["Second factor", user.mfa ? "on" : "off", "me-mfa"], ["Member since", when(user.createdAt)]]);
      }),
      api("/api/profile").then((p) => fill(profile, [["Message", p.message], ["User id", p.userId, "profile-user-id"]])),
      api("/api/auth/sessions").then(({ sessions: list }) => sessions.replaceChildren(...list.map((s) => sessionRow(s, load)))),
      api("/api/auth/passkeys").then(({ passkeys: list }) => passkeys.replaceChildren(...list.map((p) => passkeyRow(p, load)))),
    ]);
    view.dataset.loading = "false";
    const failed = results.find((r) => r.status === "rejected");
    if (failed) showError(failed.reason);
  }

  mount(
    h("div", { class: "actions" },
      h("button", { type: "button", "data-test": "reload", onclick: () => load() }, "Reload"),
      h("button", { type: "button", "data-test": "logout", onclick: () => run(logout) }, "Log out"),
      h("button", { type: "button", "data-test": "logout-all", onclick: () => run(logoutEverywhere) }, "Log out everywhere"),
    ),
    h("section", { class: "card" }, h("h2", {}, "You"), me),
    h("section", { class: "card" }, h("h2", {}, "GET /api/profile"), profile),
    changeEmailCard(),
    h("section", { class: "card wide" },
      h("h2", {}, "Your sessions"),
      h("table", {},
        h("thead", {}, h("tr", {}, ["Device", "IP", "Started", "Last used", ""].map((t) => h("th", {}, t)))),
        sessions,
      ),
    ),
    h("section", { class: "card" },
      h("h2", {}, "Change password"),
      form({
        name: "password",
        fields: [
          { name: "currentPassword", label: "Current password", type: "password", autocomplete: "current-password" },
          { name: "newPassword", label: "New password", type: "password", autocomplete: "new-password" },
        ],
        submit: "Change password",
        onSubmit: async (values) => {
          // A wrong current password is 401 INVALID_CREDENTIALS: shown, and this session goes on.
          await api("/api/auth/password", { method: "POST", body: values });
          notice("Password changed. Every other session has ended.");
          await load();
        },
      }),
    ),
    secondFactorCard(load),
    h("section", { class: "card wide" },
      h("h2", {}, "Your passkeys"),
      h("p", { class: "muted" }, "A passkey signs you in without a password: your device keeps it and unlocks it with your PIN, fingerprint or face."),
      h("table", {},
        h("thead", {}, h("tr", {}, ["Name", "Added", "Last used", ""].map((t) => h("th", {}, t)))),
        passkeys,
      ),
      passkeysSupported()
        ? form({
          name: "add-passkey",
          fields: [{ name: "name", label: "Name (optional, e.g. “Work laptop”)", optional: true, autocomplete: "off" }],
          submit: "Add a passkey",
          onSubmit: async ({ name }) => {
            await addPasskey(name);
            await load();
          },
        })
        : h("p", { class: "muted" }, "This browser cannot create passkeys."),
    ),
  );
  await load();
}

// passkeyRow is one passkey with its "Delete" button.
function passkeyRow(p, reload) {
  const remove = async () => {
    await api(`/api/auth/passkeys/${encodeURIComponent(p.id)}`, { method: "DELETE" });
    await reload();
  };
  return h("tr", { "data-passkey-id": p.id },
    h("td", { "data-test": "passkey-name" }, p.name),
    h("td", {}, when(p.createdAt)),
    h("td", { "data-test": "passkey-last-used" }, when(p.lastUsedAt)),
    h("td", {}, h("button", { type: "button", class: "danger", "data-test": "delete-passkey", onclick: () => run(remove) }, "Delete")),
  );
}

// fill replaces a definition list's rows; a row may name a data-test hook for its value.
function fill(dl, rows) {
  dl.replaceChildren(...rows.flatMap(([term, value, test]) => [h("dt", {}, term), h("dd", { "data-test": test }, String(value))]));
}

// sessionRow is one session with its "End this session" button. Ending the current one signs out.
function sessionRow(s, reload) {
  const end = async () => {
    await api(`/api/auth/sessions/${encodeURIComponent(s.id)}`, { method: "DELETE" });
    if (s.current) await logout();
    else await reload();
  };
  return h("tr", { "data-session-id": s.id, "data-current": String(s.current) },
    h("td", {}, s.userAgent || "unknown", s.current && h("span", { class: "badge" }, "this session")),
    h("td", {}, s.ip),
    h("td", {}, when(s.createdAt)),
    h("td", {}, when(s.lastUsedAt)),
    h("td", {}, h("button", { type: "button", class: "danger", onclick: () => run(end) }, "End this session")),
  );
}

// logoutEverywhere ends every session of the user, then this one's cookie and token.
async function logoutEverywhere() {
  await api("/api/auth/logout-all", { method: "POST" });
  await logout();
}
