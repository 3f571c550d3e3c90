// Runs service_worker.js in a stand-in service worker scope and delivers one push whose decrypted
// payload is read from stdin; prints, as JSON, each showNotification(title, options) call.
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const shown = [];
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
};
scope.self = scope;
vm.runInNewContext(fs.readFileSync(path.join(__dirname, "service_worker.js"), "utf8"), scope);

const payload = fs.readFileSync(0, "utf8");
const waits = [];
listeners.push({ data: { json: () => JSON.parse(payload) }, waitUntil: (p) => waits.push(p) });
Promise.all(waits).then(() => process.stdout.write(JSON.stringify(shown)));
