// Hashes one File off the page's thread, reporting progress as it reads.
import { Md5 } from "./md5.js";

const CHUNK = 4 * 1024 * 1024;

self.onmessage = async ({ data: file }) => {
  try {
    const md5 = new Md5();
    for (let at = 0; at < file.size; at += CHUNK) {
      md5.update(new Uint8Array(await file.slice(at, at + CHUNK).arrayBuffer()));
      self.postMessage({ loaded: Math.min(at + CHUNK, file.size) });
    }
    self.postMessage({ md5: md5.base64() });
  } catch (err) {
    self.postMessage({ error: String(err?.message || err) }); // e.g. the file changed or vanished on disk
  }
};
