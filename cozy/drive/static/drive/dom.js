// Small DOM and formatting helpers shared by the Drive modules.

// h("button.btn", {type: "button", onclick}, "Label") -> an element.
export function h(spec, props = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag);
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el) el[key] = value;
    else if (value !== false) el.setAttribute(key, value === true ? "" : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

// An icon from the sprite in drive.html.
export function icon(name, cls = "icon-sm") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}

const KINDS = new Set(["image", "audio", "video", "text", "pdf", "zip", "code", "spreadsheet", "slide"]);

// The kind of an entry, for its icon (and later its thumbnail).
export function kindOf(attrs) {
  if (attrs.type === "directory") return "folder";
  return KINDS.has(attrs.class) ? attrs.class : "files";
}

const KIND_LABELS = {
  folder: "Folder", image: "Image", audio: "Audio", video: "Video", text: "Document", pdf: "PDF",
  zip: "Archive", code: "Code", spreadsheet: "Spreadsheet", slide: "Presentation", files: "File",
};

// The box where a file's icon sits; a thumbnail (thumbs.js) covers it once loaded.
export function thumb(attrs, picture = null) {
  const kind = kindOf(attrs);
  return h("span.thumb", { dataset: { kind }, title: KIND_LABELS[kind] }, icon(kind, "icon-file"),
    h("span.visually-hidden", {}, KIND_LABELS[kind]), picture);
}

const UNITS = ["B", "kB", "MB", "GB", "TB"];

export function formatSize(bytes) {
  let n = Number(bytes) || 0;
  let unit = 0;
  while (n >= 1000 && unit < UNITS.length - 1) {
    n /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || n >= 100 ? 0 : 1;
  return `${n.toFixed(digits)} ${UNITS[unit]}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatDate(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : dateFormat.format(date);
}

export function timeEl(iso) {
  return h("time", { datetime: iso }, formatDate(iso));
}

// "report.final.pdf" -> the length of "report.final", to preselect it when renaming.
export function stemLength(name, isDir) {
  const dot = name.lastIndexOf(".");
  return isDir || dot <= 0 ? name.length : dot;
}
