// The owner's picture in the top bar (GET /public/avatar, the initials when there is none),
// and the dialog that changes it: pick a file (PUT /settings/avatar, the raw bytes) or remove
// it (DELETE). The server decides what it accepts; its refusals are said in plain words.

import { ApiError, csrfToken, errorDetail } from "./api.js";
import { button, openDialog } from "./dialogs.js";
import { h } from "./dom.js";
import { toast } from "./menu.js";
import { actionMessage } from "./messages.js";

const ACCEPTED = "image/png,image/jpeg,image/gif,image/webp";
let version = 0; // part of the picture's address, so that a change shows at once

const avatarUrl = () => `/public/avatar?fallback=initials${version ? `&v=${version}` : ""}`;

async function send(method, file) {
  const headers = { Accept: "application/vnd.api+json", "X-CSRFToken": csrfToken() };
  if (file) headers["Content-Type"] = file.type || "application/octet-stream";
  let response;
  try {
    response = await fetch("/settings/avatar", { method, headers, body: file, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "the server could not be reached");
  }
  if (!response.ok) throw new ApiError(response.status, errorDetail(await response.text()) || response.statusText);
}

export function avatarMessage(err) {
  if (err.status === 415) return "This file is not a picture the cozy takes: choose a PNG, JPEG, GIF or WebP image.";
  if (err.status === 413) return "This picture is too large: choose one of at most 20 MB.";
  if (err.status === 400 || err.status === 422) return "This picture cannot be read: it may be damaged.";
  return actionMessage(err);
}

function changed() {
  version = Date.now();
  for (const img of document.querySelectorAll("img[data-avatar]")) img.src = avatarUrl();
}

function avatarDialog() {
  const input = h("input.visually-hidden", { type: "file", id: "avatar-input", accept: ACCEPTED });
  const preview = h("img.avatar-preview", { src: avatarUrl(), alt: "Your picture now", dataset: { avatar: "" } });
  const choose = button("Choose a picture…", { onclick: () => input.click() }, "btn btn-primary");
  const remove = button("Remove the picture");
  const ui = openDialog({
    title: "Your picture",
    body: [preview, h("p.muted", {}, "A PNG, JPEG, GIF or WebP image of at most 20 MB."), input],
    actions: [remove, choose],
  });
  const act = async (task, said) => {
    ui.setError("");
    ui.setBusy(true);
    try {
      await task();
      changed();
      ui.close();
      toast(said);
    } catch (err) {
      ui.setBusy(false);
      ui.setError(avatarMessage(err));
    }
  };
  input.addEventListener("change", () => {
    const file = input.files[0];
    input.value = "";
    if (file) act(() => send("PUT", file), "Your picture was changed.");
  });
  remove.addEventListener("click", () => act(() => send("DELETE"), "Your picture was removed."));
  choose.focus();
}

export function initAvatar() {
  document.getElementById("avatar-button")?.addEventListener("click", avatarDialog);
}
