// Follow a plan being solved: fetch its status every second; reload the page when it is done to show the result.
(function () {
  var live = document.getElementById("plan-live");
  if (!live) return;
  function poll() {
    fetch(live.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        live.innerHTML = html;
        var state = document.getElementById("plan-state");
        var status = state ? state.dataset.status : "";
        if (status === "done") { window.location.reload(); }
        else if (status !== "failed") { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 1000);
})();
