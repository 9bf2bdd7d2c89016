// The base64 MD5 of a File, sent as Content-MD5 so that the server refuses
// damaged bytes. Hashed in a worker: the page stays responsive for large files.

export function fileMd5(file, onProgress) {
  const worker = new Worker(new URL("./md5-worker.js", import.meta.url), { type: "module" });
  let cancel;
  const promise = new Promise((resolve, reject) => {
    const end = (settle, value) => {
      worker.terminate();
      settle(value);
    };
    cancel = () => end(reject, new DOMException("cancelled", "AbortError"));
    worker.onmessage = ({ data }) => {
      if (data.error) end(reject, new Error(data.error));
      else if (data.md5) end(resolve, data.md5);
      else onProgress(data.loaded);
    };
    worker.onerror = (event) => end(reject, new Error(event.message || "the file could not be read"));
  });
  worker.postMessage(file);
  return { promise, cancel };
}
