// Live progress for the importer cards: a card whose run is going opens an
// EventSource on its stream and updates its counts and item list as the
// run's events arrive (the stream replays the run from its start, so a
// reload shows the same run). Without JavaScript the page shows the run as
// it was when loaded.
"use strict";
(function () {
  function follow(card) {
    var slug = card.id.replace(/^card-/, "");
    var el = function (name) { return document.getElementById(name + "-" + slug); };
    var items = el("progress-items"), state = el("run-state"), outcome = el("last-outcome");
    var counts = { imported: 0, skipped: 0, error: 0 };
    var first = true;
    var source = new EventSource(card.getAttribute("data-stream"));
    function show() {
      el("count-imported").textContent = counts.imported;
      el("count-skipped").textContent = counts.skipped;
      el("count-errors").textContent = counts.error;
    }
    source.onmessage = function (message) {
      var event = JSON.parse(message.data);
      if (first) { items.textContent = ""; first = false; }
      if (event.type === "fetching") {
        state.textContent = "Sync running…";
      } else if (event.type === "progress") {
        counts[event.status] = (counts[event.status] || 0) + 1;
        var li = document.createElement("li");
        li.className = "item " + event.status;
        li.textContent = event.name + " — " + event.status + (event.reason ? ": " + event.reason : "");
        items.insertBefore(li, items.firstChild);
        show();
      } else if (event.type === "done") {
        counts = { imported: event.imported, skipped: event.skipped, error: event.error_count };
        show();
        state.textContent = "Sync finished" +
          (event.left_for_next_run ? "; " + event.left_for_next_run + " left for the next run" : "") +
          (event.has_more ? "; more history comes with the next runs" : "") + ".";
        if (outcome) { outcome.textContent = "succeeded"; }
        source.close();
        card.setAttribute("data-running", "false");
      } else if (event.type === "error") {
        state.textContent = "Sync failed: " + event.message;
        if (outcome) { outcome.textContent = "failed"; }
        source.close();
        card.setAttribute("data-running", "false");
      }
    };
    source.onerror = function () { source.close(); };
  }
  document.addEventListener("DOMContentLoaded", function () {
    var cards = document.querySelectorAll(".card[data-running=true]");
    for (var i = 0; i < cards.length; i++) { follow(cards[i]); }
  });
})();
