// Uploading a whole folder: its tree is made with the files API (one directory at a time,
// an existing one reused), then each file goes to its directory as any upload does.

import { ApiError, createDir, listDir } from "./api.js";

// [{file, path}] from a folder picker (webkitRelativePath: "top/sub/name").
export function pickedFiles(fileList) {
  return [...fileList].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

// [{file, path}] and the folders' own paths from a drop of folders and files (file system entries).
export async function droppedTree(entries) {
  const files = [];
  const dirs = [];
  async function walk(entry, prefix) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isFile) {
      files.push({ file: await new Promise((ok, fail) => entry.file(ok, fail)), path });
      return;
    }
    dirs.push(path);
    const reader = entry.createReader();
    for (;;) { // readEntries gives a batch at a time, then an empty one
      const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
      if (!batch.length) break;
      for (const child of batch) await walk(child, path);
    }
  }
  for (const entry of entries) await walk(entry, "");
  return { files, dirs };
}

// The id of the directory called name in parentId, made if needed.
async function ensureDir(parentId, name) {
  try {
    return (await createDir(parentId, name)).id;
  } catch (err) {
    if (err.status !== 409) throw err;
    const { children } = await listDir(parentId);
    const existing = children.find((c) => c.attributes.name === name);
    if (existing?.attributes.type !== "directory") {
      throw new ApiError(409, `a file named “${name}” is in the way of the folder`);
    }
    return existing.id;
  }
}

// Make every directory of the tree below rootId; a Map of directory path -> {id, name}.
export async function makeTree(rootId, rootName, paths) {
  const made = new Map([["", { id: rootId, name: rootName }]]);
  const wanted = new Set();
  for (const path of paths) {
    const parts = path.split("/");
    for (let i = 1; i <= parts.length; i += 1) wanted.add(parts.slice(0, i).join("/"));
  }
  for (const dirPath of [...wanted].sort((a, b) => a.split("/").length - b.split("/").length)) {
    const cut = dirPath.lastIndexOf("/");
    const parent = made.get(cut < 0 ? "" : dirPath.slice(0, cut));
    const name = dirPath.slice(cut + 1);
    made.set(dirPath, { id: await ensureDir(parent.id, name), name });
  }
  return made;
}

// The directory path of a file path ("top/sub/a.txt" -> "top/sub").
export const dirOf = (path) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");
