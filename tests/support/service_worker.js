// The push handler of a web app's service worker, as Herald's README shows it: a notification is
// shown with the title and options Herald sent; a sync push closes the notifications read
// elsewhere. Tests run it under node (run_service_worker.js) to see what a browser would show.
self.addEventListener("push", (event) => {
  const message = event.data.json();
  if (message.notification) {
    const { title, options } = message.notification;
    event.waitUntil(self.registration.showNotification(title, options));
    return;
  }
  const herald = message.herald || {};
  if (herald.herald_kind === "sync") {
    const read = new Set(herald.herald_read_ids || []);
    event.waitUntil(
      self.registration.getNotifications().then((shown) =>
        shown
          .filter((n) => herald.herald_all_read || read.has(n.data?.herald_notification_id))
          .forEach((n) => n.close()),
      ),
    );
  }
});
