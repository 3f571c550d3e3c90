// Runs service_worker.js in a stand-in service worker scope and delivers one push whose decrypted
// payload is read from stdin, then, when an argument names a button ("" for the notification
// itself), a tap on the notification shown. Prints, as JSON, each showNotification(title,
// options) call ("shown") and each window the worker opened ("opened").
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const shown = [];
const opened = [];
const listeners = {};
const scope = {
  addEventListener: (type, listener) => {
    listeners[type] = listener;
  },
  registration: {
    showNotification: (title, options) => {
      shown.push({ title, options: options ?? {} });
      return Promise.resolve();
    },
    getNotifications: () => Promise.resolve([]),
  },
  clients: {
    openWindow: (url) => {
      opened.push(url);
      return Promise.resolve(null);
    },
  },
};
scope.self = scope;
vm.runInNewContext(fs.readFileSync(path.join(__dirname, "service_worker.js"), "utf8"), scope);

const payload = fs.readFileSync(0, "utf8");
const tapped = process.argv[2];
const waits = [];
const waitUntil = (p) => waits.push(p);
listeners.push({ data: { json: () => JSON.parse(payload) }, waitUntil });
Promise.all(waits)
  .then(() => {
    if (tapped === undefined || shown.length === 0) {
      return;
    }
    const notification = { data: shown[0].options.data, close: () => {} };
    const clicks = [];
    listeners.notificationclick({ action: tapped, notification, waitUntil: (p) => clicks.push(p) });
    return Promise.all(clicks);
  })
  .then(() => process.stdout.write(JSON.stringify({ shown, opened })));
