// Plain words for what went wrong, from an HTTP status and the API's detail.

const capitalize = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);
const sentence = (s) => (s && !/[.!?]$/.test(s) ? `${s}.` : s);

const COMMON = {
  0: "Connection lost: the server could not be reached. Check your connection and try again.",
  401: "Your session has ended: reload the page and log in again.",
  410: "This cozy is being deleted.",
  413: "Over quota: there is not enough space left in your cozy for this.",
  503: "Storage unavailable: your files are safe, but nothing can be changed right now. Try again later.",
};

// A 409 is a name clash unless its detail says otherwise (a move into itself, a file as folder...).
const nameClash = (status, detail) => status === 409 && (!detail || /name/i.test(detail));

// For renaming, moving, creating a folder, trashing...
export function actionMessage(err) {
  const status = err?.status ?? 0;
  if (nameClash(status, err?.detail)) return "Name already taken: a file or folder with this name is already there.";
  if (status === 404) return "Not found: it may have been moved or deleted in the meantime. Reload the page.";
  return COMMON[status] || sentence(capitalize(err?.detail || `The server answered with an error (${status})`));
}

// For an upload that failed; status 0 covers network errors and dropped connections.
export function uploadMessage(status, detail, name) {
  if (status === 409 && !nameClash(status, detail)) return sentence(capitalize(detail));
  switch (status) {
    case 0:
      return "Connection lost: the upload did not finish and nothing was saved. Try again.";
    case 409:
      return `Name already taken: “${name}” already exists in this folder.`;
    case 412:
      return "Integrity check failed: the file arrived damaged, so nothing was saved. Try again.";
    case 413:
      return "Over quota: there is not enough space left in your cozy for this file.";
    case 404:
      return "The destination folder no longer exists.";
    default:
      return COMMON[status] || sentence(capitalize(detail || `The server answered with an error (${status})`));
  }
}
