// ui.js holds the small DOM helpers every screen uses. Nothing here writes HTML strings: text from
// the server always lands in text nodes, so it can never become markup.

// h builds an element: h("button", {class: "primary", onclick: fn}, "Save"). Props starting with
// "on" become event listeners, false or null props are left out, true ones are empty attributes;
// children are nodes, strings, or arrays of them.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// mount replaces the main view with nodes.
export function mount(...nodes) {
  document.getElementById("view").replaceChildren(...nodes);
}

// showError shows an ApiError (or any Error) in the banner at the top: what was happening (when
// given), its code, message, HTTP status, validation details and Retry-After. showError(null)
// hides the banner.
export function showError(err, context = null) {
  const box = document.getElementById("error");
  box.classList.remove("info");
  if (!err) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const status = err.status === undefined ? null : err.status === 0 ? "no answer" : `HTTP ${err.status}`;
  const details = err.details ? Object.entries(err.details).map(([field, why]) => h("li", {}, h("code", {}, field), ": ", String(why))) : [];
  const parts = [
    h("button", { class: "close", type: "button", "aria-label": "Dismiss", onclick: () => showError(null) }, "×"),
    context && h("span", { class: "context" }, `${context}: `),
    h("strong", { class: "code", "data-test": "error-code" }, err.code ?? err.name),
    " ",
    h("span", { "data-test": "error-message" }, err.message),
    status && h("span", { class: "muted" }, ` (${status})`),
    details.length > 0 && h("ul", { class: "details" }, details),
    err.retryAfter !== null && err.retryAfter !== undefined && h("p", { class: "muted" }, `Try again in ${err.retryAfter} s.`),
  ];
  box.replaceChildren(...parts.filter(Boolean));
  box.hidden = false;
}

// notice shows a message that is not an error in the banner's place.
export function notice(text) {
  const box = document.getElementById("error");
  box.replaceChildren(
    h("button", { class: "close", type: "button", "aria-label": "Dismiss", onclick: () => showError(null) }, "×"),
    h("span", { class: "notice", "data-test": "notice" }, text),
  );
  box.classList.add("info");
  box.hidden = false;
}

// form builds a form of labelled inputs, each required unless its field says optional. On submit
// it disables itself, calls onSubmit with the values by name, empties itself when onSubmit
// succeeds, and shows whatever onSubmit throws (prefixed with the submit button's label, so the
// error says what failed).
export function form({ name, fields, submit, onSubmit }) {
  const inputs = fields.map((f) =>
    h("label", {}, f.label, h("input", { name: f.name, type: f.type ?? "text", autocomplete: f.autocomplete, required: !f.optional })),
  );
  const button = h("button", { type: "submit", class: "primary" }, submit);
  const el = h("form", { "data-form": name }, inputs, button);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(el));
    button.disabled = true;
    showError(null);
    try {
      await onSubmit(values);
      el.reset();
    } catch (err) {
      showError(err, submit);
    } finally {
      button.disabled = false;
    }
  });
  return el;
}

// run calls an action from a button and shows what it throws.
export async function run(action) {
  showError(null);
  try {
    await action();
  } catch (err) {
    showError(err);
  }
}

// when formats an ISO time for people, in their locale.
export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "never";
}

// logActivity adds one line to the "API activity" panel, newest first, keeping the last 50. It
// never shows tokens: only the method, path, status and error code.
export function logActivity({ method, path, status, code }) {
  const list = document.getElementById("activity");
  const line = h("li", { class: status >= 200 && status < 300 ? "ok" : "fail" }, `${method} ${path} → ${status || "no answer"}${code ? ` ${code}` : ""}`);
  list.prepend(line);
  while (list.children.length > 50) list.lastElementChild.remove();
}
