// The export settings page: request an export, follow its state, link its parts.
// The API: POST /move/exports (201, or 409 while one runs), GET /move/exports (recent ones),
// and each export's manifest (links.self), polled until it is done, failed or expired.
import { ApiError, csrfToken, errorDetail } from "./api.js";

const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);
let polling = null;

async function call(method, url) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(url, { method, headers, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "the server could not be reached");
  }
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, errorDetail(text) || response.statusText);
  return JSON.parse(text);
}

function size(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes, unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return unit ? `${value.toFixed(1)} ${units[unit]}` : `${value} B`;
}

function describe(a) {
  switch (a.state) {
    case "queued": return "Waiting for a worker…";
    case "running": return `Preparing: ${a.files_done} of ${a.files_total} contents, ${size(a.bytes_done)} of ${size(a.bytes_total)}`;
    case "done": return `Ready: ${a.parts.length} part(s), until ${new Date(a.expires_at).toLocaleString()}`;
    case "failed": return `The export failed${a.error ? `: ${a.error}` : ""}. Request a new one.`;
    default: return "This export has expired. Request a new one.";
  }
}

function partLink(part) {
  const li = document.createElement("li");
  const link = document.createElement("a");
  link.href = part.url;
  link.className = "btn btn-small";
  link.setAttribute("download", "");
  link.textContent = `Download part ${part.n} (${size(part.size)})`;
  li.append(link);
  return li;
}

function show(doc) {
  const a = doc.data.attributes;
  $("export-current").hidden = false;
  $("export-current").dataset.state = a.state;
  $("export-status").textContent = describe(a);
  const progress = $("export-progress");
  progress.hidden = a.state !== "running" && a.state !== "queued";
  progress.value = a.bytes_total ? a.bytes_done / a.bytes_total : 0;
  $("export-parts").replaceChildren(...(a.state === "done" ? a.parts.map(partLink) : []));
  $("export-request").disabled = a.state === "queued" || a.state === "running";
  return a.state === "queued" || a.state === "running";
}

function showError(err) {
  $("export-error").hidden = false;
  $("export-error").textContent = err instanceof ApiError ? err.detail : String(err);
}

function follow(doc) {
  clearTimeout(polling);
  if (!show(doc)) return;
  polling = setTimeout(async () => {
    try {
      follow(await call("GET", doc.data.links.self));
    } catch (err) {
      showError(err);
      polling = setTimeout(() => follow(doc), POLL_MS * 5); // keep trying: the export goes on
    }
  }, POLL_MS);
}

async function request() {
  $("export-error").hidden = true;
  $("export-request").disabled = true;
  try {
    follow(await call("POST", "/move/exports"));
  } catch (err) {
    showError(err);
    await load();
  }
}

async function load() {
  try {
    const list = await call("GET", "/move/exports");
    if (list.data.length) follow({ data: list.data[0] });
    else $("export-request").disabled = false;
  } catch (err) {
    showError(err);
    $("export-request").disabled = false;
  }
}

$("export-request").addEventListener("click", request);
load();
