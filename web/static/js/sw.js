// The survey page's shell for a reload without the node (tablet off its WiFi): the page,
// its scripts and styles, and the survey as last seen, from this cache; everything else
// goes to the node as usual. A service worker runs only on a secure origin (https, or
// localhost); on the node's plain-http address the tablet's outbox (IndexedDB) still keeps
// photos and typed answers, but a reload without the node cannot show the page.
"use strict";
const CACHE = "survey-shell-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

function cacheable(request) {
  if (request.method !== "GET") return false;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return false;
  return url.pathname.startsWith("/survey/") || url.pathname.startsWith("/static/")
    || /^\/api\/v1\/surveys\/[^/]+$/.test(url.pathname);
}

// Network first (the node's answer is the truth); the cached copy only when it does not
// answer. A page the node refuses (login, 403) is not cached.
self.addEventListener("fetch", (event) => {
  if (!cacheable(event.request)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(event.request);
      if (response.ok && !response.redirected) await cache.put(event.request, response.clone());
      return response;
    } catch (err) {
      const cached = await cache.match(event.request, { ignoreVary: true });
      if (cached) return cached;
      throw err;
    }
  })());
});
