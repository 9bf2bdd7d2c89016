// The viewer: an image (its large thumbnail) or a PDF (its first page, the preview route)
// shown in the page, in a modal <dialog>. Previous and next go across the viewable files in
// the order shown (buttons, arrow keys, wrapping round); Download gets the file itself; Escape
// or Close leaves, and the focus goes back to the row of the file shown last.
//
// It lives outside the list, so a background refresh of the rows neither closes it nor moves
// its focus; it asks for the entries again at each step, since refreshes renew their links.

import { downloadUrl } from "./api.js";
import { h, icon } from "./dom.js";
import { fetchPicture } from "./thumbs.js";

const MAKING_RETRIES = 5; // a large thumbnail not made yet: asked again every 2 s this many times

// The link of what the viewer shows for this entry, or null: other files download.
export function viewLink(entry) {
  if (entry?.attributes?.type !== "file") return null;
  if (entry.links?.preview) return entry.links.preview; // PDFs
  return entry.attributes.class === "image" ? entry.links?.large || null : null;
}

export const isViewable = (entry) => Boolean(viewLink(entry));

// entries(): the viewable entries as shown; reload(id): the entry's document again (fresh
// links) or null; onClose(id): called with the file shown last.
export function openViewer(entry, { entries, reload, onClose }) {
  const ui = build();
  let current = entry;
  let ticket = 0;
  let shownUrl = null;

  function place() {
    const list = entries();
    return { list, index: list.findIndex((e) => e.id === current.id) };
  }

  function step(delta) {
    const { list, index } = place();
    if (!list.length) return;
    const at = index < 0 ? 0 : (index + delta + list.length) % list.length;
    show(list[at]);
  }

  function setPicture(url, name = "") {
    if (shownUrl) URL.revokeObjectURL(shownUrl);
    shownUrl = url;
    ui.picture.hidden = !url;
    if (url) {
      ui.picture.src = url;
      ui.picture.alt = name;
    } else {
      ui.picture.removeAttribute("src");
    }
  }

  function say(state, text) {
    ui.dialog.dataset.state = state;
    ui.message.textContent = text;
    ui.message.hidden = !text;
  }

  async function show(next, { renewed = false, attempt = 0 } = {}) {
    current = next;
    const mine = ++ticket;
    const name = next.attributes.name;
    const { list, index } = place();
    ui.title.textContent = name;
    ui.position.textContent = index >= 0 && list.length > 1 ? `${index + 1} of ${list.length}` : "";
    ui.prev.hidden = ui.next.hidden = list.length < 2;
    ui.download.href = downloadUrl(next.id);
    ui.download.setAttribute("aria-label", `Download ${name}`);
    ui.dialog.dataset.id = next.id;
    if (attempt === 0 && !renewed) setPicture(null);
    say("loading", attempt ? "The picture is being made…" : "Loading…");
    const got = await fetchPicture(viewLink(next));
    if (mine !== ticket) {
      if (got.url) URL.revokeObjectURL(got.url);
      return;
    }
    if (got.url) {
      setPicture(got.url, name);
      say("shown", "");
      return;
    }
    const isPdf = Boolean(next.links?.preview);
    if ((got.status === 410 || got.status === 403) && !renewed) { // an old link: the document again
      const fresh = await reload(next.id);
      if (mine === ticket && isViewable(fresh)) return show(fresh, { renewed: true, attempt });
    } else if (got.status === 404 && !isPdf && attempt < MAKING_RETRIES) {
      say("making", "The picture is being made…");
      setTimeout(() => {
        if (mine !== ticket || !ui.dialog.open) return;
        const fresh = entries().find((e) => e.id === next.id) || next;
        show(fresh, { attempt: attempt + 1 });
      }, 2000);
      return;
    }
    setPicture(null);
    say("failed", got.status === 404
      ? `${isPdf ? "This PDF" : "This picture"} cannot be shown. Download it to open it.`
      : "This file cannot be shown right now. Download it, or try again later.");
  }

  ui.prev.addEventListener("click", () => step(-1));
  ui.next.addEventListener("click", () => step(1));
  ui.close.addEventListener("click", () => ui.dialog.close());
  ui.dialog.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      step(event.key === "ArrowLeft" ? -1 : 1);
      event.preventDefault();
    } else if (event.key === "Tab") {
      trapTab(ui.dialog, event);
    }
  });
  ui.dialog.addEventListener("close", () => {
    ticket += 1; // a load under way is dropped
    setPicture(null);
    ui.dialog.remove();
    onClose(current.id);
  });
  document.body.append(ui.dialog);
  ui.dialog.showModal();
  ui.close.focus();
  show(entry);
}

function build() {
  const title = h("h2.viewer-title", { id: "viewer-title" });
  const position = h("span.viewer-position");
  const download = h("a.btn.btn-small.viewer-download", { download: "" }, icon("download"), h("span", {}, "Download"));
  const close = h("button.icon-btn.viewer-close", { type: "button", "aria-label": "Close the viewer" }, icon("close"));
  const prev = h("button.icon-btn.viewer-step", { type: "button", "aria-label": "Previous file" }, icon("chevron-left"));
  const next = h("button.icon-btn.viewer-step", { type: "button", "aria-label": "Next file" }, icon("chevron"));
  const picture = h("img.viewer-img", { alt: "", hidden: true });
  const message = h("p.viewer-message", { role: "status" });
  const dialog = h("dialog.viewer", { "aria-labelledby": "viewer-title" },
    h("header.viewer-head", {}, title, position, download, close),
    h("div.viewer-body", {}, prev, h("figure.viewer-figure", {}, picture, message), next));
  return { dialog, title, position, download, close, prev, next, picture, message };
}

// <dialog> keeps focus out of the page, but Tab can still reach the browser's own controls:
// keep it going round the dialog's controls.
function trapTab(dialog, event) {
  const items = [...dialog.querySelectorAll("a[href], button")].filter((el) => !el.disabled && el.offsetParent);
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    last.focus();
    event.preventDefault();
  } else if (!event.shiftKey && document.activeElement === last) {
    first.focus();
    event.preventDefault();
  }
}
