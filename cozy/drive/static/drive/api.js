// The files API (cozy-stack's /files routes, JSON:API) as used by the Drive page.
// The session cookie authenticates; unsafe methods carry the CSRF token.

export const ROOT_ID = "io.cozy.files.root-dir";
export const TRASH_ID = "io.cozy.files.trash-dir";
const JSONAPI = "application/vnd.api+json";
const PAGE_LIMIT = 1000;
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status; // 0 when the server could not be reached
    this.detail = detail;
  }
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// The first error detail of a JSON:API error body, or "" when there is none.
export function errorDetail(body) {
  try {
    const doc = typeof body === "string" ? JSON.parse(body) : body;
    return doc?.errors?.[0]?.detail || "";
  } catch {
    return "";
  }
}

async function call(method, url, body) {
  const headers = { Accept: JSONAPI };
  if (!SAFE.has(method)) headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "the server could not be reached");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, errorDetail(text) || response.statusText);
  return text ? JSON.parse(text) : null;
}

const enc = encodeURIComponent;

// A directory and all its children, following links.next over every page.
export async function listDir(id) {
  let doc = await call("GET", `/files/${enc(id)}?page[limit]=${PAGE_LIMIT}`);
  const dir = doc.data;
  const children = [...(doc.included || [])];
  while (doc.links?.next) {
    doc = await call("GET", doc.links.next);
    children.push(...(doc.included || []));
  }
  return { dir, children };
}

// The metadata of a node, without listing a directory's children.
export async function getNode(id) {
  return (await call("GET", `/files/${enc(id)}?page[limit]=1`)).data;
}

// A file and its old versions (newest first).
export async function getFile(id) {
  const doc = await call("GET", `/files/${enc(id)}`);
  const versions = (doc.included || []).filter((r) => r.type === "io.cozy.files.versions");
  return { file: doc.data, versions };
}

export const createDir = (parentId, name) =>
  call("POST", `/files/${enc(parentId)}?Type=directory&Name=${enc(name)}`).then((d) => d.data);

const patch = (id, attributes) =>
  call("PATCH", `/files/${enc(id)}`, { data: { type: "io.cozy.files", id, attributes } }).then((d) => d.data);

export const rename = (id, name) => patch(id, { name });
// A link to a zip of these entries (POST /files/archive), that the browser then downloads.
export const archiveLink = (ids, name) =>
  call("POST", "/files/archive", { data: { type: "io.cozy.files.archives", attributes: { name, ids } } })
    .then((d) => d.links.related);
// cozy-stack's Mango query, in the subset the server takes (POST /files/_find).
export const find = (query) => call("POST", "/files/_find", query).then((d) => d.data);
const escapeRegex = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
export const searchByName = (text) => find({ selector: { name: { $regex: `(?i)${escapeRegex(text)}` } }, limit: 50 });
export const recentFiles = () => find({ selector: { type: "file" }, sort: [{ updated_at: "desc" }], limit: 50 });
export const diskUsage = () => call("GET", "/settings/disk-usage").then((d) => d.data.attributes);
export const move = (id, dirId) => patch(id, { dir_id: dirId });
export const trash = (id) => call("DELETE", `/files/${enc(id)}`).then((d) => d.data);
export const restore = (id) => call("POST", `/files/trash/${enc(id)}`).then((d) => d.data);
export const destroy = (id) => call("DELETE", `/files/trash/${enc(id)}`);
export const emptyTrash = () => call("DELETE", "/files/trash");
export const revert = (versionId) => call("POST", `/files/revert/${enc(versionId)}`).then((d) => d.data);

export const downloadUrl = (id, versionId) =>
  versionId ? `/files/download/${enc(id)}/${enc(versionId)}` : `/files/download/${enc(id)}`;
export const uploadUrl = (dirId, name) => `/files/${enc(dirId)}?Type=file&Name=${enc(name)}`;
export const overwriteUrl = (id) => `/files/${enc(id)}`;
