// The push and click handlers of a web app's service worker, as Herald's README shows them: a
// notification is shown with the title and options Herald sent; a sync push closes the
// notifications read elsewhere; a tap opens the tapped button's link, or the notification's.
// Tests run it under node (run_service_worker.js) to see what a browser would show and open.
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

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  const button = (data.herald_actions || []).find((action) => action.id === event.action);
  const link = event.action ? button?.deep_link : data.herald_deep_link;
  if (link) {
    event.waitUntil(self.clients.openWindow(link));
  }
});
