// What the page knows of the tree: directory metadata seen in listings, so that
// breadcrumbs need a request only for ancestors not seen yet.

import { getNode, ROOT_ID } from "./api.js";

const known = new Map();

export function remember(...nodes) {
  for (const node of nodes) {
    if (node?.attributes?.type === "directory") known.set(node.id, node);
  }
}

export function forget(id) {
  known.delete(id);
}

// The ancestors of a directory, root first (the directory itself excluded).
export async function ancestors(dir) {
  const chain = [];
  const seen = new Set([dir.id]);
  let current = dir;
  while (current.id !== ROOT_ID && current.attributes.dir_id && !seen.has(current.attributes.dir_id)) {
    const parentId = current.attributes.dir_id;
    seen.add(parentId);
    let parent = known.get(parentId);
    if (!parent) {
      parent = await getNode(parentId);
      remember(parent);
    }
    chain.unshift(parent);
    current = parent;
  }
  return chain;
}

export const displayName = (dir) => (dir.id === ROOT_ID ? "My files" : dir.attributes.name);
