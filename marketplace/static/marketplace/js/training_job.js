// The training job page: loss curves, one per run, refreshed from the API while the job runs.
document.addEventListener("DOMContentLoaded", function () {
  const canvas = document.getElementById("loss-chart");
  const words = canvas ? canvas.dataset : {};  // the axis and legend words, in the page's language
  const colors = {model: "#2f5bd3", augmented: "#2f5bd3", baseline: "#d97a2f"};
  const toDatasets = (runs) => Object.entries(runs).map(([run, points]) => ({
    label: run === "model" ? words.wordTrainingLoss : run + " " + words.wordLoss, data: points.map(p => ({x: p.step, y: p.loss})),
    borderColor: colors[run] || "#555", pointRadius: 0}));
  const losses = JSON.parse(document.getElementById("training-losses").textContent);
  const chart = new Chart(canvas, {type: "line", data: {datasets: toDatasets(losses)},
    options: {animation: false, scales: {x: {type: "linear", title: {display: true, text: words.wordStep}}}}});
  if (!canvas.dataset.live) return;
  // Live: read the events from the API while the job runs (the status fragment polls on its own).
  const timer = setInterval(async function () {
    const response = await fetch(canvas.dataset.eventsUrl, {credentials: "same-origin"});
    if (!response.ok) return;
    const body = await response.json(), runs = {};
    for (const e of body.events) (runs[e.run || "model"] = runs[e.run || "model"] || []).push(e);
    chart.data.datasets = toDatasets(runs); chart.update();
    if (["succeeded", "failed", "cancelled"].includes(body.status)) clearInterval(timer);
  }, 2000);
});
