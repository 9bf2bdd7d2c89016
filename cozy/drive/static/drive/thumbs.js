// Thumbnails in the list: a file's picture over its type icon, once it is there.
//
// The picture is fetched rather than put in <img src>: a thumbnail not made yet answers 404
// with a placeholder, which would show as if it were the picture. So the type icon stays until
// a real one came (200), a missing one is asked again a few times (the worker makes it within
// seconds), and an expired link (410: links live 10 minutes) asks for a refresh of the listing,
// which brings fresh links. A refresh makes a new link for the same picture: the <img> keeps
// what it shows (data-morph-keep, see morph.js) unless the content or the size asked changed.

import { h } from "./dom.js";

const RETRY_AFTER = [2000, 4000, 8000, 16000, 32000]; // ms, for a thumbnail not made yet
const PARALLEL = 4; // fetches at once: the page's own API calls must not wait behind hundreds
const shown = new Map(); // img -> the object URL it shows
const waiting = [];
let active = 0;
let onExpired = () => {};
let lastExpired = 0;

const observer = new IntersectionObserver((records) => {
  for (const record of records) {
    if (!record.isIntersecting) continue;
    observer.unobserve(record.target);
    waiting.push(record.target);
  }
  pump();
}, { rootMargin: "400px" }); // a little ahead of the scroll

// expired(): reload the listing (its documents carry fresh links).
export function initThumbs({ expired }) {
  onExpired = expired;
}

// The <img> of a row's icon box, for a file whose document has this thumbnail link; or null.
export function thumbImg(entry, format) {
  const link = entry.links?.[format];
  if (!link) return null;
  const content = entry.attributes.md5sum || link; // same content, same picture
  return h("img.thumb-img", { alt: "", "data-morph-keep": "", dataset: { src: link, key: `${content}:${format}` } });
}

// After each render: load what is not shown yet, forget pictures of rows that went away.
export function showThumbs(container) {
  for (const img of container.querySelectorAll("img.thumb-img")) {
    if (img.dataset.shown !== img.dataset.key) {
      img.dataset.shown = img.dataset.key;
      img.dataset.tries = "0";
      img.dataset.state = "loading"; // what it showed is another content or size
      observer.observe(img);
    }
  }
  for (const [img, url] of shown) {
    if (!img.isConnected) {
      URL.revokeObjectURL(url);
      shown.delete(img);
    }
  }
}

function pump() {
  while (active < PARALLEL && waiting.length) {
    const img = waiting.shift();
    if (!img.isConnected) continue;
    active += 1;
    load(img).finally(() => {
      active -= 1;
      pump();
    });
  }
}

// The picture behind a thumbnail link: {url} (an object URL), or {status} when there is none.
export async function fetchPicture(link) {
  let response;
  try {
    response = await fetch(link, { credentials: "same-origin" });
  } catch {
    return { status: 0 };
  }
  if (!response.ok) return { status: response.status };
  return { url: URL.createObjectURL(await response.blob()) };
}

async function load(img) {
  const key = img.dataset.key;
  img.dataset.state = "loading";
  const got = await fetchPicture(img.dataset.src);
  if (img.dataset.key !== key) { // the content changed meanwhile: its own load runs
    if (got.url) URL.revokeObjectURL(got.url);
    return;
  }
  if (got.url) {
    const before = shown.get(img);
    if (before) URL.revokeObjectURL(before);
    shown.set(img, got.url);
    img.src = got.url;
    img.dataset.state = "loaded";
    return;
  }
  img.dataset.state = "missing"; // the type icon stays
  if (got.status === 410 || got.status === 403) {
    img.dataset.shown = ""; // the next render, with fresh links, tries again
    expired();
    return;
  }
  const tries = Number(img.dataset.tries || 0);
  if (tries >= RETRY_AFTER.length) {
    img.dataset.shown = ""; // the next refresh of the listing tries again
    return;
  }
  img.dataset.tries = String(tries + 1);
  setTimeout(() => {
    if (img.isConnected && img.dataset.key === key) observer.observe(img); // with its link as of then
  }, RETRY_AFTER[tries]);
}

function expired() {
  if (Date.now() - lastExpired < 30_000) return; // at most one reload for a burst of old links
  lastExpired = Date.now();
  onExpired();
}
