// Draws every chart whose Plotly figure the page carries (a <script type="application/json" data-chart=ID>).
(function () {
  if (!window.Plotly) return;
  document.querySelectorAll("script[data-chart]").forEach(function (el) {
    var fig = JSON.parse(el.textContent);
    Plotly.newPlot(el.dataset.chart, fig.data, fig.layout, {responsive: true, displaylogo: false});
  });
})();
