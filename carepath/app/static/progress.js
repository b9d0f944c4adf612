// Follows a run: asks the app for its status every second, moves the bar, and shows the results when it finishes.
(function () {
  var box = document.getElementById("progress");
  if (!box) return;
  var id = box.dataset.run;
  function tick() {
    fetch("/runs/" + id + "/status", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (s) {
      document.getElementById("status").textContent = s.status;
      document.getElementById("status").className = "status " + s.status;
      document.getElementById("stage").textContent = s.stage || "";
      if (s.total) {
        document.getElementById("bar-fill").style.width = Math.round(100 * s.done / s.total) + "%";
        document.getElementById("counts").textContent = s.done + " of " + s.total + " replications";
      }
      document.getElementById("left").textContent =
        (s.status === "running" && s.seconds_left !== null) ? ", about " + Math.round(s.seconds_left) + " s left" : "";
      document.getElementById("message").textContent = s.message || "";
      if (s.status === "finished") { window.location.reload(); return; }
      if (s.status === "queued" || s.status === "running") setTimeout(tick, 1000);
      else if (box.dataset.status !== s.status) window.location.reload();
    }).catch(function () { setTimeout(tick, 3000); });
  }
  if (box.dataset.status === "queued" || box.dataset.status === "running") setTimeout(tick, 700);
})();
