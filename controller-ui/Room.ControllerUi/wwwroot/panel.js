// The panel's only script: starts Blazor with patient reconnects (the kiosk never shows a dead page) and
// keeps <html lang> in step with the chosen language for screen readers.
window.panel = {
  setLanguage: function (lang) { document.documentElement.lang = lang; }
};
(function () {
  var modal = document.getElementById("components-reconnect-modal");
  if (modal) {
    modal.addEventListener("components-reconnect-state-changed", function (e) {
      var s = e.detail && e.detail.state;
      if (s === "rejected" || s === "failed") { setTimeout(function () { location.reload(); }, 2000); }
    });
  }
  Blazor.start({
    circuit: { reconnectionOptions: { maxRetries: 100000, retryIntervalMilliseconds: 2000 } }
  });
})();
