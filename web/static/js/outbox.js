// Photos the tablet could not send yet, kept in the browser's IndexedDB until the node has
// them: a photo taken while the tablet is off the node's WiFi is not lost with the page.
// (IndexedDB works on the node's plain-http address; a service worker would not.)
"use strict";
const PhotoOutbox = (() => {
  const DB = "survey-node", STORE = "photo-outbox";

  function open() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => {
        const store = req.result.createObjectStore(STORE, { keyPath: "id" });
        store.createIndex("survey", "surveyId");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function run(mode, work) {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const result = work(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  const newId = () => (crypto.randomUUID ? crypto.randomUUID()
    : `${Date.now()}-${Math.random().toString(16).slice(2)}`);

  return {
    // Kept first, sent after: a page closed mid-upload still has it.
    add: (surveyId, role, file) => run("readwrite", (s) => s.put({
      id: newId(), surveyId, role, name: file.name || "photo.jpg", type: file.type,
      blob: file, takenAt: new Date().toISOString() })),
    list: (surveyId) => run("readonly", (s) => s.index("survey").getAll(surveyId)),
    remove: (id) => run("readwrite", (s) => s.delete(id)),
  };
})();
