// router.js maps location.pathname to a screen. A screen is a function (possibly async) that
// mounts its view; screens register with route() in main.js. Links marked data-link navigate
// without reloading the page.

import { showError } from "./ui.js";

const routes = new Map();

// route registers the screen for one path.
export function route(path, screen) {
  routes.set(path, screen);
}

// navigate changes the address to path (a new history entry unless replace), clears the error
// banner and renders the new path.
export function navigate(path, { replace = false } = {}) {
  showError(null);
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  return render();
}

// render shows the screen of the current path, or the not-found screen.
export async function render() {
  const screen = routes.get(location.pathname) ?? routes.get("*");
  await screen();
}

// start renders the current path and follows the back and forward buttons and data-link links.
export function start() {
  addEventListener("popstate", render);
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-link]");
    if (!link || link.origin !== location.origin || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    navigate(link.pathname);
  });
  return render();
}
