// Sign in, sign up and sign out: the forms post JSON to /api/auth/* through the API wrapper
// (which adds the CSRF header), then go where the user was headed.
import { post } from "./api.js";

function safeNext(value) {
  // Only a page of this site: resolve it as the browser would and compare origins.
  try {
    const url = new URL(value || "/", location.origin);
    return url.origin === location.origin ? url.pathname + url.search + url.hash : "/";
  } catch {
    return "/";
  }
}

function showError(form, message) {
  const box = form.querySelector("#auth-error");
  box.textContent = message;
  box.hidden = !message;
}

function wire(form, path, check) {
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = form.querySelector("#username").value.trim();
    const password = form.querySelector("#password").value;
    const problem = check ? check(form) : "";
    if (problem) { showError(form, problem); return; }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showError(form, "");
    try {
      await post(path, { username, password });
      // The server already reduced ?next= to a local path (data-next).
      location.assign(safeNext(form.dataset.next));
    } catch (err) {
      showError(form, err.message);
      button.disabled = false;
    }
  });
}

wire(document.getElementById("signin-form"), "/api/auth/signin");
wire(document.getElementById("signup-form"), "/api/auth/signup", (form) =>
  form.querySelector("#password").value !== form.querySelector("#password2").value ? "The passwords differ." : "");

const signout = document.getElementById("signout-btn");
if (signout) {
  signout.addEventListener("click", async () => {
    signout.disabled = true;
    try {
      await post("/api/auth/signout");
    } finally {
      location.assign("/signin");
    }
  });
}
